"""Processes: exec, fork and exit counts, exit codes, and lifetimes
(``sched:sched_process_*`` and ``syscalls:sys_enter_exit_group``)."""

from __future__ import annotations

from purebpf.agent.filters import guard, predicate
from purebpf.agent.metrics import Family
from purebpf.agent.probes.base import BpftraceProbe, power_bounds

LIFETIME_BOUNDS = power_bounds(20, 42)  # ~1 ms .. ~73 min in 4x steps, in ns


class ProcessProbe(BpftraceProbe):
    name = "process"
    help = "processes: exec, fork and exit counts, exit codes, lifetime histogram, by process name"
    metrics = {
        "purebpf_process_execs": "Successful execs, by the new process name.",
        "purebpf_process_forks": "Tasks created by fork/clone (threads included), by parent process name.",
        "purebpf_process_exits": "Processes that ended (last thread gone), by process name.",
        "purebpf_process_exit_codes": "exit_group() calls, by process name and exit code.",
        "purebpf_process_lifetime_seconds": "Lifetime of processes forked while the agent ran, by process name.",
    }

    object_maps = frozenset({"@born"})

    def source(self) -> str:
        g = guard(self.filters)
        watched = predicate(self.filters) or "1"
        who = self.who_key
        return f"""
tracepoint:sched:sched_process_exec {g} {{ @exec[{who}] = count(); }}
tracepoint:sched:sched_process_fork {g} {{ @fork[{who}] = count(); @born[args->child_pid] = nsecs; }}
tracepoint:syscalls:sys_enter_exit_group {g} {{ @code[{who}, (int32)args->error_code] = count(); }}
tracepoint:sched:sched_process_exit {{
  if (args->group_dead) {{
    $b = @born[pid];
    if ({watched}) {{
      @exit[{who}] = count();
      if ($b) {{ @life[{who}] = hist(nsecs - $b); @life_ns[{who}] = sum(nsecs - $b); }}
    }}
    delete(@born[pid]);
  }}
  if (tid != pid) {{ delete(@born[tid]); }}
}}
"""

    def families(self) -> list[Family]:
        return [
            self.counter_family("purebpf_process_execs", (), "@exec", who=True),
            self.counter_family("purebpf_process_forks", (), "@fork", who=True),
            self.counter_family("purebpf_process_exits", (), "@exit", who=True),
            self.counter_family("purebpf_process_exit_codes", ("code",), "@code", who=True),
            self.histogram_family("purebpf_process_lifetime_seconds", (), "@life", "@life_ns",
                                  bounds=LIFETIME_BOUNDS, who=True),
        ]
