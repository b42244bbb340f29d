"""Input checks the tracing attach kinds run before they touch the kernel
(the program type check itself is :func:`purebpf.links.attach.require_program`).
"""

from __future__ import annotations

from purebpf.errors import InvalidInputError
from purebpf.programs import Program
from purebpf.sys import AttachType


def require_attach_type(prog: Program, kind: str, attach_types: tuple[AttachType, ...]) -> None:
    """BTF-typed programs are verified for one attach type: refuse others here
    rather than with the kernel's bare EINVAL."""
    have = int(prog.spec.expected_attach_type)
    if have not in attach_types:
        wanted = " or ".join(t.name for t in attach_types)
        raise InvalidInputError(
            f"a {kind} link needs a program loaded with expected_attach_type={wanted} "
            f"(build its spec with purebpf.links.tracing_spec), but '{prog.name}' has {_attach_name(have)}")


def require_name(value: str, what: str) -> None:
    """Names that go into tracefs paths or kernel lookups: non-empty, no '/' or NUL."""
    if not isinstance(value, str) or not value or "/" in value or "\0" in value:
        raise InvalidInputError(f"invalid {what} {value!r}: expected a non-empty name without '/'")


def _attach_name(value: int) -> str:
    try:
        return AttachType(value).name
    except ValueError:
        return str(value)
