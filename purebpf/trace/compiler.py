"""The pipeline from bpftrace source to loadable programs: parse, expand
macros, expand probes, analyse, generate code.  Pure: nothing here creates
kernel objects, so ``purebpf trace -d`` and the tests can compile without
loading."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from purebpf.asm import Instruction, assemble, label_slots
from purebpf.errors import BPFError
from purebpf.sys.tracepoint_format import list_tracepoints, tracepoint_fields
from purebpf.trace import ast
from purebpf.trace.cdefs import missing_include, parse_cdefs
from purebpf.trace.codegen import EXIT_MAP, RINGBUF, Event, ProgramContext, compile_probe
from purebpf.trace.codegen.base import PROBE_NAMES_MAP
from purebpf.trace.config import Config, read_config
from purebpf.trace.cstructs import CDefinitionError, parse_structs
from purebpf.trace.location import Diagnostics, Location, ProgramError, Source
from purebpf.trace.macros import expand as expand_macros
from purebpf.trace.parser import parse
from purebpf.trace.probes import USER_RUN, ProbeError, ProbeTarget, expand, has_wildcard, parse_attach_point
from purebpf.trace.semantic import Environment, MapInfo, ProbeScope, Semantic
from purebpf.trace.structs import StructTable, function_args, kernel_btf

MAP_KINDS = ("hash", "lruhash", "percpuhash", "percpulruhash", "percpuarray")


@dataclass
class CompiledProbe:
    target: ProbeTarget
    insns: list[Instruction]
    index: int  # position among the program's probes, for naming
    funcs: list[tuple[int, str, int]] = field(default_factory=list)  # callbacks: (slot, name, parameters)
    btf_typed: bool = False  # a raw tracepoint vmlinux BTF describes: loaded as tp_btf
    needs_btf: bool = False  # calls helpers that take BTF-typed pointers: raw_tp would not do
    multi: list[ProbeTarget] = field(default_factory=list)  # uprobe_multi: every function this program serves
    cookies: list[int] = field(default_factory=list)  # ... and the cookie (PROBE_NAMES_MAP index) of each

    @property
    def attach_points(self) -> int:
        """How many attach points this program stands for (bpftrace's "Attached N probes" counts each)."""
        return len(self.multi) or 1


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
    stack_maps: set[str] = field(default_factory=set)
    cpid: int = 0
    config: Config = field(default_factory=Config)
    exit_flag: bool = False  # probes check EXIT_MAP (see codegen.base)
    scratch: dict[str, int] = field(default_factory=dict)  # scratch frame maps: name -> bytes per CPU
    probe_names: list[bytes] = field(default_factory=list)  # PROBE_NAMES_MAP's elements (uprobe_multi probes)

    @property
    def attachable(self) -> list[CompiledProbe]:
        return [p for p in self.probes if p.target.provider not in USER_RUN]


def _lift_block_aggregations(tree: ast.Program) -> None:
    """``@m = { stmts; avg($x) }`` becomes ``{ stmts; @m = avg($x); }``: an aggregation is not a value,
    it is an update of its map, so it moves into the block (where the block's variables still live)."""
    from purebpf.trace.semantic import AGGREGATIONS

    def lift(stmts: list[ast.Stmt]) -> None:
        for i, stmt in enumerate(stmts):
            if (isinstance(stmt, ast.Assign) and stmt.op is None and isinstance(stmt.target, ast.Map)
                    and isinstance(stmt.value, ast.BlockExpr) and isinstance(stmt.value.value, ast.Call)
                    and stmt.value.value.func in AGGREGATIONS):
                block = stmt.value
                block.stmts.append(ast.Assign(stmt.loc, stmt.target, block.value))
                block.value = None
                stmts[i] = ast.ExprStmt(stmt.loc, block)

    for node in ast.walk(tree.probes):
        for name in getattr(node, "__dataclass_fields__", ()):
            value = getattr(node, name)
            if isinstance(value, list) and value and all(isinstance(x, ast.Stmt) for x in value):
                lift(value)


def compile_program(text: str, *, name: str = "stdin", params: list[str] | None = None, unsafe: bool = False,
                    cpid: int = 0, named: dict[str, str] | None = None, warnings: bool = True,
                    probe_filter: str | None = None, includes: tuple[str, ...] = (),
                    helper_checks: bool = False, pid: int | None = None,
                    debuginfo: tuple[str, ...] = (), traceable: str | None = None,
                    uprobe_multi: bool | None = None) -> CompiledProgram:
    """Compile bpftrace source; raises ProgramError carrying every diagnostic.

    ``params`` are the positional parameters ($1...), ``named`` the program
    options given after ``--`` (read by ``getopt()``), ``cpid`` the pid of the
    ``-c`` command (held before exec until probes are attached); ``probe_filter``
    a regular expression only the probes to attach must match (BEGIN and END always run);
    ``helper_checks`` (``-k``) adds run-time warnings when a map read finds no element; ``debuginfo``
    are extra directories holding separate debug files of uprobes' binaries (``--debuginfo``); ``traceable``
    a file listing the traceable kernel functions kprobes may use (``--traceable-functions``); ``uprobe_multi``
    whether a wildcard uprobe's functions may share one program and link (None: if this kernel has them)."""
    source = Source(text, name)
    tree = parse(text, name)
    diags = Diagnostics(source)
    config = read_config(tree.config, diags)
    missing = missing_include(tree.c_definitions)
    if missing:
        raise ProgramError(missing)
    cdefs = parse_cdefs(tree.c_definitions, includes)
    env = Environment(list(params or []), dict(named or {}), unsafe, cpid, cdefs, structs=_structs(tree, diags),
                      pid=pid, stack_mode=config.stack_mode, debuginfo=tuple(debuginfo),
                      max_strlen=config.max_strlen)
    expand_macros(tree, diags, config)
    diags.raise_if_errors()
    _lift_block_aggregations(tree)

    _substitute_params(tree, env.params)
    targets = _targets(tree, diags, pid, debuginfo, config, unsafe, traceable)
    _check_program_count(_programs_needed(targets, uprobe_multi), diags)
    _load_dwarf(targets, env)
    filtered_out: set[int] = set()  # probes --probe-filter removed: not "missing"
    if probe_filter is not None:
        before = {id(p) for p, _, _ in targets}
        targets = _filtered(targets, probe_filter, diags)
        filtered_out = before - {id(p) for p, _, _ in targets}
    diags.raise_if_errors()

    sem = Semantic(diags, env)
    _declared_maps(tree, sem, diags)
    # a first pass learns every map's type, so a probe may read a map that a later probe writes
    first = Semantic(Diagnostics(source), env)
    first.maps = sem.maps
    for probe, target, _ in targets:
        try:
            first.probe(probe, _probe_scope(target, env))
        except ProbeError:
            continue
    scopes: list[tuple[ast.Probe, ProbeScope]] = []
    attach_points: dict[int, Location] = {}  # id(scope) -> its attach point (uprobe_multi groups by it)
    for probe, target, loc in targets:
        try:
            scope = _probe_scope(target, env)
        except ProbeError as exc:
            _missing_probe(str(exc), loc, config, diags)
            continue
        sem.probe(probe, scope)
        scopes.append((probe, scope))
        attach_points[id(scope)] = loc
    _report_empty_probes(tree, {id(p) for p, _ in scopes} | filtered_out, config, diags)
    if not scopes and not diags.errors:
        raise ProgramError(_no_probes(diags))
    for info in sem.maps.values():
        if not info.kind and info.name not in {d.name for d in tree.map_decls}:
            diags.error(f"Undefined map: {info.name}", info.loc)
    _check_program_options(env, diags)
    unused = [d for d in tree.map_decls if not sem.maps[d.name].kind]
    for decl in unused:
        diags.warning(f"Unused map: {decl.name}", decl.loc)
        del sem.maps[decl.name]
    diags.raise_if_errors()

    uses_exit = any(isinstance(node, ast.Call) and node.func == "exit" for node in ast.walk(tree))
    ctx = ProgramContext(sem.maps, list(params or []), ncpus=sem.ncpus, cpid=cpid, named=dict(named or {}),
                         enum_values=cdefs.enum_values, defines=cdefs.defines, helper_checks=helper_checks,
                         exit_flag=uses_exit, pid_filter=pid or 0)
    multi = _multi_plan(scopes, attach_points, uprobe_multi)
    ctx.names_slot = multi.slot if multi.names else 0
    compiled = []
    for index, (probe, scope) in enumerate(scopes):
        if id(scope) in multi.skipped:  # compiled once, with the first function of its group
            continue
        group = multi.groups.get(id(scope))
        scope.multi = group is not None
        # analyse again: the tree is shared by a probe's attach points, types are per target
        rerun = Semantic(Diagnostics(source), env)
        rerun.maps = sem.maps
        scope.variables = {}
        scope.for_loops = 0
        rerun.probe(probe, scope)
        for node in ast.walk(probe.body):  # every use of a variable reads it as finally typed
            if isinstance(node, ast.Variable) and node.name in scope.variables:
                node.type = scope.variables[node.name]
        result = compile_probe(ctx, scope, probe, diags)
        if result is not None:
            insns, funcs = result
            slots = label_slots(insns)
            typed = scope.typed_args is not None and scope.target.target in ("", "vmlinux")
            compiled.append(CompiledProbe(scope.target, assemble(insns), index,
                                          [(slots[f.label], f.label, f.nparams) for f in funcs],
                                          btf_typed=typed, needs_btf=scope.btf_helpers,
                                          multi=group.targets if group else [], cookies=group.cookies if group else []))
    diags.raise_if_errors()
    rendered = diags.render() if diags.items and warnings else ""
    return CompiledProgram(source, tree, compiled, sem.maps, ctx.events, ctx.start_ns, rendered,
                           sorted(sem.maps) + [RINGBUF] + sorted(ctx.stack_maps) + [EXIT_MAP] * uses_exit
                           + sorted(ctx.scratch) + [PROBE_NAMES_MAP] * bool(multi.names),
                           ctx.stack_maps, cpid, config, uses_exit, ctx.scratch, multi.table())


def _programs_needed(targets: list, enabled: bool | None) -> list:
    """The targets that need a program each: wildcard uprobes' functions share one where the kernel allows."""
    if enabled is False:
        return targets
    from purebpf.trace.multi import kernel_has_uprobe_multi, programs_needed

    shared = programs_needed(targets)
    return shared if len(shared) < len(targets) and (enabled or kernel_has_uprobe_multi()) else targets


def _multi_plan(scopes: list, attach_points: dict, enabled: bool | None):
    """Which wildcard uprobes share a program (none unless this kernel has uprobe_multi links)."""
    from purebpf.trace.multi import MultiPlan, kernel_has_uprobe_multi, plan

    found = plan(scopes, attach_points) if enabled is not False else MultiPlan()
    if found.groups and enabled is None and not kernel_has_uprobe_multi():
        return MultiPlan()
    return found


def _check_program_count(targets: list, diags: Diagnostics) -> None:
    """bpftrace loads one program per attach point and stops at a limit rather than loading thousands."""
    from purebpf.trace.kprobes import max_programs

    limit = max_programs()
    if len(targets) > limit:
        loc = targets[limit][2]
        message = (f"Your program is trying to generate more than {len(targets)} BPF programs, which exceeds the "
                   f"current limit of {limit}")
        raise ProgramError(diags.source.format_message("ERROR", message, loc) + "\nHINT: You can increase the "
                           "limit through the BPFTRACE_MAX_BPF_PROGS environment variable.")


def _report_empty_probes(tree: ast.Program, kept: set[int], config: Config, diags: Diagnostics) -> None:
    """A probe none of whose attach points exist is removed (``missing_probes``: warn, ignore) or fails."""
    for probe in tree.probes:
        if id(probe) in kept or not probe.attach_points:
            continue
        loc = probe.attach_points[0].loc
        if config.missing_probes == "warn":
            diags.warning("Probe has no valid attach points. It is being removed which may cause issues with "
                          "program behavior.", loc)
        elif config.missing_probes == "error" and not diags.errors:
            diags.error("Probe has no valid attach points.", loc)


def _missing_probe(message: str, loc: Location, config: Config, diags: Diagnostics) -> None:
    """A probe that matches nothing: an error, unless ``config = { missing_probes = ... }`` says otherwise."""
    if config.missing_probes == "error":
        diags.error(message, loc)
    elif config.missing_probes == "warn":
        diags.warning(message + " Skipping.", loc)


def _probe_scope(target: ProbeTarget, env: Environment) -> ProbeScope:
    """What a probe's ``args`` are: a tracepoint's format fields, or typed arguments from BTF;
    raises ProbeError for a tracepoint this kernel does not have."""
    scope = ProbeScope(target)
    if target.provider == "tracepoint":
        try:
            scope.fields = {f.name: f for f in tracepoint_fields(target.target, target.func)}
        except BPFError:
            raise ProbeError(f"No matches for tracepoint {target.target}:{target.func}.") from None
    elif target.provider in ("fentry", "fexit") and target.target.startswith("bpf:"):
        _bpf_program_scope(scope)
    elif target.provider in ("rawtracepoint", "fentry", "fexit"):
        scope.typed_args = function_args(env.structs, target.provider, target.func)
        if target.provider == "rawtracepoint":
            _check_raw_tracepoint(target, in_btf=scope.typed_args is not None)
    elif target.provider in ("uprobe", "uretprobe") and not target.func[:1].isdigit():
        from purebpf.trace.uprobes import check_boundary, functions
        if not functions(target.target, target.func, env.pid):
            raise ProbeError(f"No matches for {target.provider} {target.target}:{target.func}.")
        check_boundary(target.target, target.func, env.pid, env.unsafe)
        info = _dwarf_of(target.target, env)
        if info is not None and target.provider == "uprobe" and not target.offset:
            from purebpf.trace.structs import uprobe_args
            scope.typed_args = uprobe_args(env.structs, info, target.func)
        if target.provider == "uprobe" and not target.offset and scope.typed_args is None:
            scope.no_args = (f"{target.target} has no debug information (DWARF) for args: build it with -g, or keep "
                             "its debug info in a .gnu_debuglink file or as split DWARF (.dwo/.dwp) beside it"
                             if info is None else
                             f"The debug information (DWARF) of {target.target} does not describe {target.func}")
    elif target.provider == "iter" and env.structs.find(f"bpf_iter__{target.target}") is None:
        raise ProbeError(f"iter {target.target} not available for your kernel version "
                         "(see `purebpf trace -l 'iter:*'`).")
    return scope


def _bpf_program_scope(scope: ProbeScope) -> None:
    """fentry/fexit on a BPF program's function (checked to exist): no ``args``, as in bpftrace; fexit's
    ``retval`` is read through the trampoline (purebpf.trace.codegen)."""
    from purebpf.trace.fentry import bpf_function
    from purebpf.trace.structs import FunctionArgs

    bpf_function(scope.target)
    scope.typed_args = FunctionArgs({})
    scope.no_args = "The args builtin cannot be used for 'fentry/fexit:bpf' probes"


def _dwarf_of(binary: str, env: Environment):
    """The DWARF of a uprobe's binary (None without any): read once, then cached by purebpf.symbols.dwarf."""
    from purebpf.errors import BPFError
    from purebpf.links.symbols import resolve_binary
    from purebpf.symbols.dwarf import debug_info

    try:
        return debug_info(str(resolve_binary(binary, env.pid)), env.debuginfo)
    except BPFError:
        return None


def _load_dwarf(targets: list, env: Environment) -> None:
    """The uprobes' binaries' DWARF structs become nameable (``(struct Foo *)arg0``) in every probe."""
    for path in dict.fromkeys(t.target for _, t, _ in targets if t.provider in ("uprobe", "uretprobe")):
        info = _dwarf_of(path, env)
        if info is not None:
            env.structs.add_dwarf(info)


def _check_raw_tracepoint(target: ProbeTarget, in_btf: bool) -> None:
    """The module named must exist, and the raw tracepoint in BTF or at least in tracefs."""
    module = target.target
    if module and module != "vmlinux":
        if not os.path.exists(f"/sys/kernel/btf/{module}"):
            raise ProbeError(f"No matches for rawtracepoint {module}:{target.func}.")
    elif not in_btf and target.func not in {name for _, name in list_tracepoints()}:
        raise ProbeError(f"Probe has no valid attach points: this kernel has no raw tracepoint '{target.func}' "
                         "(see `purebpf trace -l 'rawtracepoint:*'`).")


def _raw_tracepoints(target: ProbeTarget) -> list[ProbeTarget]:
    """The raw tracepoints a wildcard names: tracefs lists the names (the ``syscalls`` events are not
    tracepoints) and a module's BTF has ``btf_trace_<name>`` for each one it defines."""
    import fnmatch

    from purebpf.btf.kernel import load_module_btf, module_names

    names = sorted({name for category, name in list_tracepoints()
                    if category != "syscalls" and fnmatch.fnmatchcase(name, target.func)})
    if not names:
        return []
    modules = [m for m in ["vmlinux", *module_names()] if fnmatch.fnmatchcase(m, target.target or "vmlinux")]
    out = []
    for module in modules:
        try:
            btf = load_module_btf(module)
        except BPFError:
            continue
        found = [n for n in names if btf.find_ids("btf_trace_" + n)]
        names = [n for n in names if n not in found]  # module BTF sees vmlinux's too: first owner wins
        keep = target.target if not has_wildcard(target.target) else module
        out.extend(ProbeTarget("rawtracepoint", keep, n) for n in found)
    return out


def _structs(tree: ast.Program, diags: Diagnostics) -> StructTable:
    """The program's struct definitions over kernel BTF (opened only if a program names a kernel type)."""
    table = StructTable(btf_source=kernel_btf)
    for definition in tree.c_definitions:
        try:
            parse_structs([definition.text], table)
        except CDefinitionError as exc:
            diags.error(f"error: {exc}", definition.loc)
    return table


def _substitute_params(tree: ast.Program, params: list[str]) -> None:
    """Positional parameters in attach points (``interval:ms:$1``) are replaced by their text."""
    def value(m: re.Match) -> str:
        index = int(m.group(1))
        return params[index - 1] if 0 < index <= len(params) else ""

    for probe in tree.probes:
        for ap in probe.attach_points:
            if "$" in ap.raw:
                ap.raw = re.sub(r"\$(\d+)", value, ap.raw)


def _filtered(targets: list, pattern: str, diags: Diagnostics) -> list:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        diags.error(f"Invalid --probe-filter regex '{pattern}': {exc}", None)
        return targets
    kept = [t for t in targets if t[1].provider in USER_RUN or regex.search(t[1].name)]
    if not any(t[1].provider not in USER_RUN for t in kept) and not diags.errors:
        raise ProgramError(_no_probes(diags))
    return kept


def _no_probes(diags: Diagnostics) -> str:
    """bpftrace's plain "No probes to attach" line (no ERROR: prefix), after the warnings so far."""
    return "\n".join([diags.render()] * bool(diags.items) + ["No probes to attach"])


def _check_program_options(env: Environment, diags: Diagnostics) -> None:
    """Options after ``--`` must be ones the program reads with getopt(); ``--help`` lists those."""
    known = env.options_read
    hint = "HINT: expected program options: " + ", ".join(f"--{k}" for k in sorted(known)) if known else \
        "HINT: this program reads no options (getopt())"
    if "help" in env.named and "help" not in known:
        lines = ["HINT: expected program options:"] + [f"  --{k}" + (f": {d}" if d else "") for k, d in known.items()]
        diags.error("program options:\n" + "\n".join(lines), None)
        return
    unexpected = [k for k in env.named if k not in known]
    if unexpected:
        diags.error("unexpected program command line options: " + ", ".join(f"--{k}" for k in unexpected)
                    + "\n" + hint, None)


def _declared_maps(tree: ast.Program, sem: Semantic, diags: Diagnostics) -> None:
    """``let @m = hash(N);``: the map's size (bpftrace's map declarations)."""
    for decl in tree.map_decls:
        kind = decl.kind
        if kind.func not in MAP_KINDS:
            diags.error(f"Invalid map type: {kind.func} (one of {', '.join(MAP_KINDS)})", kind.loc)
            continue
        size = kind.args[0].value if kind.args and isinstance(kind.args[0], ast.Integer) else 0
        info = sem.map_info(ast.Map(decl.loc, decl.name))
        info.max_entries = size
        info.declared = kind.func


def _targets(tree: ast.Program, diags: Diagnostics, pid: int | None = None, debuginfo: tuple[str, ...] = (),
             config: Config | None = None, unsafe: bool = False, traceable: str | None = None
             ) -> list[tuple[ast.Probe, ProbeTarget, Location]]:
    """Every concrete attach point, with its probe and the attach point's location; ``traceable`` is a file
    listing the kernel's traceable functions (``--traceable-functions``; ftrace's list by default)."""
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
            if target.provider == "usdt":  # expanded against the files' notes (and -p's mappings)
                out.extend((probe, t, loc) for t in _usdt_targets(target, loc, pid, diags))
                continue
            if target.provider in ("uprobe", "uretprobe") and "@" in target.target:  # BIN@FILE.c:LINE
                from purebpf.trace.uprobes import source_line_targets
                try:
                    out.extend((probe, t, loc) for t in source_line_targets(target, pid, debuginfo))
                except ProbeError as exc:
                    diags.error(str(exc), loc)
                continue
            if target.provider == "rawtracepoint" and has_wildcard(target.target + target.func):
                matches = _raw_tracepoints(target)
                if not matches:
                    module = f"{target.target}:" if target.target else ""
                    diags.error(f"No matches for rawtracepoint {module}{target.func}.", loc)
                out.extend((probe, t, loc) for t in matches)
                continue
            if target.provider in ("kprobe", "kretprobe"):
                out.extend((probe, t, loc) for t in _kprobe_targets(target, loc, config or Config(), unsafe,
                                                                    traceable, diags))
                continue
            if target.provider in ("fentry", "fexit"):
                out.extend((probe, t, loc) for t in _fentry_targets(target, loc, config or Config(), diags, traceable))
                continue
            if target.provider in ("uprobe", "uretprobe") and has_wildcard(target.target + target.func):
                from purebpf.trace.uprobes import expand as expand_uprobes  # reads ELF files: only when needed
                out.extend((probe, t, loc) for t in (expand_uprobes(target, pid) or [target]))
                continue
            out.append((probe, target, loc))
    if not out and not diags.errors:
        _report_empty_probes(tree, set(), config or Config(), diags)
        if not diags.errors:
            raise ProgramError(_no_probes(diags))
    return out


def _kprobe_targets(target: ProbeTarget, loc: Location, config: Config, unsafe: bool, traceable: str | None,
                    diags: Diagnostics) -> list[ProbeTarget]:
    from purebpf.trace.kprobes import expand as expand_kprobes
    try:
        found = expand_kprobes(target, unsafe=unsafe, path=traceable)
    except ProbeError as exc:
        diags.error(str(exc), loc)
        return []
    for note in found.warnings:
        diags.warning(note, loc)
    if found.missing:
        _missing_probe(found.missing, loc, config, diags)
    return found.targets


def _fentry_targets(target: ProbeTarget, loc: Location, config: Config, diags: Diagnostics,
                    traceable: str | None = None) -> list[ProbeTarget]:
    """A fentry/fexit attach point's functions: its wildcard's matches, or the one function if BTF has it."""
    from purebpf.trace import fentry
    if fentry.is_bpf_program(target):  # functions of loaded BPF programs
        found = fentry.expand_bpf(target)
        if not found:
            _missing_probe(f"No matches for {target.provider} {target.target}:{target.func}.", loc, config, diags)
        return found
    found = fentry.expand(target, traceable) if has_wildcard(target.target + target.func) else [target]
    found = [t for t in found if fentry.in_btf(t.target, t.func)]
    if not found:
        where = f"{target.target}:" if target.target else ""
        _missing_probe(f"No matches for {target.provider} {where}{target.func}.", loc, config, diags)
    return found


def _usdt_targets(target: ProbeTarget, loc: Location, pid: int | None, diags: Diagnostics) -> list[ProbeTarget]:
    from purebpf.trace.usdt import expand as expand_usdt
    try:
        return expand_usdt(target, pid)
    except ProbeError as exc:
        diags.error(str(exc), loc)
        return []


def program_targets(text: str, name: str = "stdin", pid: int | None = None,
                    debuginfo: tuple[str, ...] = ()) -> list[ProbeTarget]:
    """The concrete attach points of a program (for ``-l``), without analysing its bodies."""
    tree = parse(text, name)
    diags = Diagnostics(Source(text, name))
    targets = [t for _, t, _ in _targets(tree, diags, pid, debuginfo)]
    diags.raise_if_errors()
    return targets


__all__ = ["CompiledProbe", "CompiledProgram", "ProgramError", "compile_program", "program_targets"]
