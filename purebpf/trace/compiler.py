"""The pipeline from bpftrace source to loadable programs: parse, expand
probes, analyse, generate code.  Pure: nothing here creates kernel objects,
so ``purebpf trace -d`` and the tests can compile without loading."""

from __future__ import annotations

from dataclasses import dataclass, field

from purebpf.asm import Instruction, assemble
from purebpf.errors import BPFError
from purebpf.sys.tracepoint_format import list_tracepoints, tracepoint_fields
from purebpf.trace import ast
from purebpf.trace.codegen import RINGBUF, Event, ProgramContext, compile_probe
from purebpf.trace.location import Diagnostics, Location, ProgramError, Source
from purebpf.trace.parser import parse
from purebpf.trace.probes import ProbeError, ProbeTarget, expand, has_wildcard, parse_attach_point
from purebpf.trace.semantic import MapInfo, ProbeScope, Semantic


@dataclass
class CompiledProbe:
    target: ProbeTarget
    insns: list[Instruction]
    index: int  # position among the program's probes, for naming


@dataclass
class CompiledProgram:
    source: Source
    ast: ast.Program
    probes: list[CompiledProbe]
    maps: dict[str, MapInfo]
    events: list[Event]
    start_ns: int
    warnings: str = ""
    map_names: list[str] = field(default_factory=list)

    @property
    def attachable(self) -> list[CompiledProbe]:
        return [p for p in self.probes if p.target.provider not in ("BEGIN", "END")]


def compile_program(text: str, *, name: str = "stdin", params: list[str] | None = None) -> CompiledProgram:
    """Compile bpftrace source; raises ProgramError carrying every diagnostic."""
    source = Source(text, name)
    tree = parse(text, name)
    diags = Diagnostics(source)
    for item in tree.config:
        diags.warning(f"config option '{item.key}' is ignored by purebpf", item.loc)

    targets = _targets(tree, diags)
    diags.raise_if_errors()

    sem = Semantic(diags)
    scopes: list[tuple[ast.Probe, ProbeScope]] = []
    for probe, target, loc in targets:
        scope = ProbeScope(target)
        if target.provider == "tracepoint":
            try:
                scope.fields = {f.name: f for f in tracepoint_fields(target.target, target.func)}
            except BPFError:
                diags.error(f"tracepoint not found: {target.target}:{target.func}", loc)
                continue
        sem.probe(probe, scope)
        scopes.append((probe, scope))
    for info in sem.maps.values():
        if not info.kind:
            diags.error(f"Undefined map: {info.name}", info.loc)
    diags.raise_if_errors()

    ctx = ProgramContext(sem.maps, list(params or []))
    compiled = []
    for index, (probe, scope) in enumerate(scopes):
        # analyse again: the tree is shared by a probe's attach points, types are per target
        rerun = Semantic(Diagnostics(source))
        rerun.maps = sem.maps
        scope.variables = {}
        rerun.probe(probe, scope)
        insns = compile_probe(ctx, scope, probe, diags)
        if insns is not None:
            compiled.append(CompiledProbe(scope.target, assemble(insns), index))
    diags.raise_if_errors()
    warnings = diags.render() if diags.items else ""
    return CompiledProgram(source, tree, compiled, sem.maps, ctx.events, ctx.start_ns, warnings,
                           sorted(sem.maps) + [RINGBUF])


def _targets(tree: ast.Program, diags: Diagnostics) -> list[tuple[ast.Probe, ProbeTarget, Location]]:
    out = []
    tracepoints: list[tuple[str, str]] | None = None
    for probe in tree.probes:
        parsed = []
        for ap in probe.attach_points:
            try:
                parsed.append((parse_attach_point(ap.raw), ap.loc))
            except ProbeError as exc:
                diags.error(str(exc), ap.loc)
        if tracepoints is None and any(t.provider == "tracepoint" and has_wildcard(t.target + t.func)
                                       for t, _ in parsed):
            tracepoints = list_tracepoints()
        for target, loc in expand(parsed, diags, tracepoints=tracepoints):
            out.append((probe, target, loc))
    if not out and not diags.errors:
        diags.error("No probes to attach", None)
    return out


__all__ = ["CompiledProbe", "CompiledProgram", "ProgramError", "compile_program"]
