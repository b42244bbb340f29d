"""Scheduler: run-queue latency (wake-up or preemption to running) and
context switches, by process name (``sched:sched_wakeup*`` / ``sched_switch``).

Filters apply to the task being switched (``pids`` match thread ids here).
Context switches carry the cgroup labels (the task switched out is the
current one); run-queue latency is about the task switched in, whose
cgroup the tracepoint does not give, so it is by process name only.
"""

from __future__ import annotations

from purebpf.agent.filters import Subject, predicate
from purebpf.agent.metrics import Family
from purebpf.agent.probes.base import BpftraceProbe

TASK_RUNNING = 0


class SchedProbe(BpftraceProbe):
    name = "sched"
    help = "scheduler: run-queue latency histogram and context switches, by process name"
    metrics = {
        "purebpf_sched_runqueue_latency_seconds": "Time a task waited runnable before it ran, by process name.",
        "purebpf_sched_context_switches": "Times a task was switched out, by process name.",
    }

    object_maps = frozenset({"@qt"})

    def source(self) -> str:
        woken = predicate(self.filters, Subject("args->pid", "args->comm", cgroup=False)) or "1"
        prev = predicate(self.filters, Subject("args->prev_pid", "args->prev_comm", cgroup=False)) or "1"
        nxt = predicate(self.filters, Subject("args->next_pid", "args->next_comm", cgroup=False)) or "1"
        return f"""
tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new /{woken}/ {{ @qt[args->pid] = nsecs; }}
tracepoint:sched:sched_switch {{
  if (args->prev_pid != 0 && ({prev})) {{
    @cs[args->prev_comm{", cgroup" if self.ctx.cgroups is not None else ""}] = count();
    if (args->prev_state == {TASK_RUNNING}) {{ @qt[args->prev_pid] = nsecs; }}
  }}
  if ({nxt}) {{
    $t = @qt[args->next_pid];
    if ($t) {{
      @runq[args->next_comm] = hist(nsecs - $t);
      @runq_ns[args->next_comm] = sum(nsecs - $t);
      delete(@qt[args->next_pid]);
    }}
  }}
}}
tracepoint:sched:sched_process_exit {{ delete(@qt[tid]); }}
"""

    def families(self) -> list[Family]:
        return [
            self.histogram_family("purebpf_sched_runqueue_latency_seconds", ("comm",), "@runq", "@runq_ns",
                                  lambda k: k),
            self.counter_family("purebpf_sched_context_switches", (), "@cs", who=True),
        ]
