"""CPU profile: on-CPU stacks sampled at a fixed frequency (49 Hz: off the
beat of periodic timers), served as folded stacks and a flame graph.

The bpftrace language had no stack builtins when this was written, so this probe is a small
hand-assembled perf-event program: per sample it records (pid, kernel stack
id, user stack id, comm) and counts it; user space symbolizes on request.
"""

from __future__ import annotations

import struct
import threading

from purebpf.agent.filters import asm_filter
from purebpf.agent.metrics import Family
from purebpf.agent.probes.base import MapUsage, Probe
from purebpf.errors import BPFError
from purebpf.symbols import Symbolizer

KEY = struct.Struct("<Iii4x16s")  # tgid, kernel stack id, user stack id, comm
BPF_F_USER_STACK = 1 << 8
NOEXIST = 1


KEY_OFF, ONE_OFF = -32, -40
COMM = KEY_OFF + 16


def _program(filters, include_idle: bool) -> list:
    from purebpf.asm import (
        FP,
        R0,
        R1,
        R2,
        R3,
        R4,
        R6,
        R7,
        AluOp,
        AtomicOp,
        JmpOp,
        alu,
        atomic,
        call,
        exit_,
        ja,
        jmp,
        ld_map_fd,
        mov,
        st,
        stx,
    )

    def ptr(reg, off):  # reg = FP + off
        return [mov(reg, FP), alu(AluOp.ADD, reg, off)]

    insns = [mov(R6, R1)] + [st(8, FP, KEY_OFF + i, 0) for i in range(0, 32, 8)]
    insns += [call("get_current_pid_tgid"), alu(AluOp.RSH, R0, 32), stx(4, FP, KEY_OFF, R0), mov(R7, R0)]
    if not include_idle:
        insns.append(jmp(JmpOp.JEQ, R7, 0, "out"))
    insns += ptr(R1, COMM) + [mov(R2, 16), call("get_current_comm")]
    insns += asm_filter(filters, COMM, "out")
    for flags, off in ((0, KEY_OFF + 4), (BPF_F_USER_STACK, KEY_OFF + 8)):
        insns += [mov(R1, R6), ld_map_fd(R2, "stacks"), mov(R3, flags), call("get_stackid"), stx(4, FP, off, R0)]
    insns += [ld_map_fd(R1, "counts"), *ptr(R2, KEY_OFF), call("map_lookup_elem"), jmp(JmpOp.JEQ, R0, 0, "new"),
              mov(R1, 1), atomic(AtomicOp.ADD, 8, R0, 0, R1), ja("out"),
              st(8, FP, ONE_OFF, 1).with_label("new"), ld_map_fd(R1, "counts"), *ptr(R2, KEY_OFF),
              *ptr(R3, ONE_OFF), mov(R4, NOEXIST), call("map_update_elem"), jmp(JmpOp.JEQ, R0, 0, "out"),
              # the counts map is full: count the sample as lost
              st(4, FP, ONE_OFF, 0), ld_map_fd(R1, "lost"), *ptr(R2, ONE_OFF), call("map_lookup_elem"),
              jmp(JmpOp.JEQ, R0, 0, "out"), mov(R1, 1), atomic(AtomicOp.ADD, 8, R0, 0, R1),
              mov(R0, 0).with_label("out"), exit_()]
    return insns


class ProfileProbe(Probe):
    name = "profile"
    help = "CPU profile: stacks sampled at 49 Hz on every CPU, as folded stacks and a flame graph on /profile"
    params = {"frequency": 49, "include_idle": False, "max_stacks": 16384}
    metrics = {
        "purebpf_profile_samples": "CPU samples taken, by process name.",
    }

    def __init__(self, params, filters, ctx) -> None:
        super().__init__(params, filters, ctx)
        self.maps: dict = {}
        self.prog = None
        self.links: list = []
        self.lock = threading.Lock()

    def start(self) -> None:
        from purebpf.asm import assemble, resolve_maps
        from purebpf.links import PerfEvent
        from purebpf.maps import Map, MapSpec
        from purebpf.programs import Program, ProgramSpec
        from purebpf.sys import MapType, ProgType
        from purebpf.sys.perf import PerfType, SoftwareEvent
        n = self.p["max_stacks"]
        try:
            self.maps = {
                "stacks": Map(MapSpec(MapType.STACK_TRACE, 4, 8 * 127, n, name="agent_stacks")),
                "counts": Map(MapSpec(MapType.HASH, KEY.size, 8, n, name="agent_samples")),
                "lost": Map(MapSpec(MapType.ARRAY, 4, 8, 1, name="agent_lost")),
            }
            insns = resolve_maps(assemble(_program(self.filters, self.p["include_idle"])),
                                 {k: m.fd for k, m in self.maps.items()})
            self.prog = Program(ProgramSpec(ProgType.PERF_EVENT, insns, name="agent_profile"))
            self.links = [PerfEvent(self.prog, PerfType.SOFTWARE, SoftwareEvent.CPU_CLOCK,
                                    sample_freq=self.p["frequency"])]
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        with self.lock:
            for obj in [*self.links, self.prog, *self.maps.values()]:
                if obj is not None:
                    try:
                        obj.close()
                    except BPFError:
                        pass
            self.links, self.prog, self.maps = [], None, {}

    def _samples(self) -> list[tuple[int, int, int, str, int]]:
        out = []
        for k, v in self.maps["counts"].items_raw():
            pid, kid, uid, comm = KEY.unpack(k)
            out.append((pid, kid, uid, comm.split(b"\0", 1)[0].decode(errors="replace"),
                        int.from_bytes(v, "little")))
        return out

    def collect(self) -> list[Family]:
        with self.lock:
            if not self.maps:
                return []
            fam = self.family("purebpf_profile_samples", "counter", ("comm",))
            for _, _, _, comm, count in self._samples():
                fam.add((comm,), count)
            return [fam]

    def lost(self) -> int:
        with self.lock:
            if not self.maps:
                return 0
            raw = self.maps["lost"].lookup_raw(bytes(4))
            return int.from_bytes(raw or bytes(8), "little")

    def map_usage(self) -> list[MapUsage]:
        with self.lock:
            if not self.maps:
                return []
            m = self.maps["counts"]
            return [MapUsage("samples", sum(1 for _ in m.keys_raw()), m.max_entries)]

    def folded(self) -> str:
        """``comm;user frames;kernel frames count`` lines, root first, as flame graph tools read them."""
        with self.lock:
            if not self.maps:
                return ""
            samples = self._samples()
            stacks = self.maps["stacks"]
            kstacks: dict[int, list[int]] = {}
            for _, kid, _, _, _ in samples:
                if kid >= 0 and kid not in kstacks:
                    kstacks[kid] = _frames(stacks, kid)
            symbolizer = Symbolizer()
            lines: dict[str, int] = {}
            for pid, kid, uid, comm, count in samples:
                frames = [comm]
                if uid >= 0:
                    frames += [symbolizer.user(pid, a) for a in reversed(_frames(stacks, uid))]
                if kid >= 0:
                    frames += [symbolizer.kernel(a) + "_[k]" for a in reversed(kstacks[kid])]
                line = ";".join(f.replace(";", ":").replace(" ", "_") for f in frames)
                lines[line] = lines.get(line, 0) + count
        return "".join(f"{k} {v}\n" for k, v in sorted(lines.items()))


def _frames(stacks, stack_id: int) -> list[int]:
    """The stack's addresses, innermost first (the map's codec stops at the first zero)."""
    return stacks.get(stack_id, [])
