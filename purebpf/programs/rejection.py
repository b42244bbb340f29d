"""What to show when the verifier rejects a program: the instructions around the one it stopped at.

The verifier log names the failing instruction only by its index (``12: (85) call ...`` is the last
instruction it walked); a reader wants it in context, with what came before, so the report shows a
window of the program's own listing with that instruction marked.  A rejection that is a kernel limit
(a helper this program type or this kernel does not offer) is not a code problem: no listing then.
"""

from __future__ import annotations

from purebpf.asm import disassemble
from purebpf.errors import VerifierError
from purebpf.programs.program import LOG_HINT

_KERNEL_LIMITS = ("unknown func ", "cannot use helper", "invalid func ")


def failing_insn(log: str) -> int | None:
    """The index of the last instruction the verifier walked (``N: (op) ...`` lines), or None."""
    for line in reversed(log.splitlines()):
        head, sep, rest = line.partition(": (")
        if sep and head.strip().isdigit() and rest[:2].isalnum():
            return int(head)
    return None


def is_kernel_limit(exc: VerifierError) -> bool:
    """True when the rejection is about what the kernel offers, not about the code."""
    return any(text in exc.log for text in _KERNEL_LIMITS)


def summary(exc: VerifierError) -> str:
    """The one-line message without the hint meant for Python callers (``.log``)."""
    return str(exc).removesuffix(LOG_HINT)


def rejection_listing(exc: VerifierError, context: int = 8) -> str:
    """The program's listing around the failing instruction (``=>`` marks it); empty when there is
    nothing useful to show (the full log stays on ``exc.log``)."""
    if exc.insns is None or is_kernel_limit(exc):
        return ""
    pc = failing_insn(exc.log)
    lines = disassemble(exc.insns).splitlines()
    slots = [(int(ln.split(":", 1)[0]), ln) for ln in lines if ln[:4].strip().isdigit()]
    if pc is None or not slots:
        return ""
    at = next((i for i, (slot, _) in enumerate(slots) if slot >= pc), len(slots) - 1)
    window = slots[max(0, at - context):at + 3]
    return "\n".join(("=> " if slot == pc else "   ") + text for slot, text in window)

