"""Memory: user page faults by process name, OOM kills with their victim,
and kernel allocations by call site (``exceptions:page_fault_user``,
``oom:mark_victim``, ``kmem:kmalloc`` / ``kmem:kfree``).

Allocations against frees per call site are the basis of leak hunting: a
site whose allocation rate stays above the host's free rate is the suspect.
"""

from __future__ import annotations

from purebpf.agent.filters import guard
from purebpf.agent.metrics import Family
from purebpf.agent.probes.base import BpftraceProbe
from purebpf.symbols import kernel_symbols


class MemoryProbe(BpftraceProbe):
    name = "memory"
    help = "memory: page faults, OOM kills with victim, kernel allocations by call site"
    params = {"kmem": True}
    metrics = {
        "purebpf_memory_page_faults": "User-space page faults, by process name.",
        "purebpf_memory_oom_kills": "Processes chosen by the OOM killer, by victim process name.",
        "purebpf_memory_kmalloc": "Kernel kmalloc() calls, by calling function.",
        "purebpf_memory_kmalloc_bytes": "Bytes allocated by kernel kmalloc() calls, by calling function.",
        "purebpf_memory_kfree": "Kernel kfree() calls.",
    }

    def source(self) -> str:
        kmem = """
tracepoint:kmem:kmalloc { @kmalloc[args->call_site] = count(); @kbytes[args->call_site] = sum(args->bytes_alloc); }
tracepoint:kmem:kfree { @kfree = count(); }
""" if self.p["kmem"] else ""
        return f"""
tracepoint:exceptions:page_fault_user {guard(self.filters)} {{ @faults[{self.who_key}] = count(); }}
tracepoint:oom:mark_victim {{ @oom[str(args->comm)] = count(); printf("%d %s\\n", args->pid, str(args->comm)); }}
{kmem}"""

    def on_printf(self, fmt: str, args: list) -> None:
        pid, comm = args
        self.ctx.log(f"OOM killer chose process {pid} ({comm})")

    def families(self) -> list[Family]:
        out = [
            self.counter_family("purebpf_memory_page_faults", (), "@faults", who=True),
            self.counter_family("purebpf_memory_oom_kills", ("comm",), "@oom", lambda k: k),
        ]
        if self.p["kmem"]:
            calls, sizes = self.read("@kmalloc"), self.read("@kbytes")
            ksyms = kernel_symbols()
            names = {a: ksyms.lookup(a) or hex(a) for a in {k[0] for k, _ in calls} | {k[0] for k, _ in sizes}}
            for metric, entries in (("purebpf_memory_kmalloc", calls), ("purebpf_memory_kmalloc_bytes", sizes)):
                fam = self.family(metric, "counter", ("function",))
                for key, value in entries:
                    fam.add((names[key[0]],), int(value))
                out.append(fam)
            out.append(self.counter_family("purebpf_memory_kfree", (), "@kfree", lambda k: k))
        return out
