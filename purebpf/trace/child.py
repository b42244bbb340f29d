"""The ``-c`` command of ``purebpf trace``: started at once, held before it
runs until every probe is attached."""

from __future__ import annotations

import os

from purebpf.errors import NotSupportedError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess


def split_command(command: str) -> list[str]:
    """The words of a ``-c`` command, as bpftrace has them: split at spaces only, nothing unquoted
    (``-c "echo 'A'"`` runs echo with the argument ``'A'``, quotes included)."""
    return [word for word in command.split(" ") if word]


class HeldChild:
    """The ``-c`` command, forked at once but held before ``exec`` until the
    probes are attached, so its pid (``cpid``) is known at compile time and
    none of its activity is missed."""

    def __init__(self, proc: subprocess.Popen, gate: int) -> None:
        self.proc = proc
        self.gate = gate

    @classmethod
    def spawn(cls, command: str | list[str]) -> HeldChild:
        """``command`` as ``-c`` gives it (split as bpftrace splits it: at spaces, quotes and backslashes
        kept as they are, no shell) or as an argument list."""
        # a shell waits on a pipe, then execs the command in place: same pid, nothing runs before release
        import subprocess  # imported here: ~3 ms of every start, needed only with -c and system()

        argv = split_command(command) if isinstance(command, str) else list(command)
        if not argv:
            raise NotSupportedError("the -c command is empty")
        read_end, write_end = os.pipe()
        read_end = _below_ten(read_end)
        if read_end < 10:
            script = f'read -r _ <&{read_end} || exit 1; exec {read_end}<&-; exec "$@"'
        else:  # fds 3-9 all taken: read the pipe through its /proc name, and the command inherits it
            script = f'read -r _ < /proc/self/fd/{read_end} || exit 1; exec "$@"'
        try:
            proc = subprocess.Popen(["/bin/sh", "-c", script, "sh", *argv], pass_fds=(read_end,))
        except OSError as exc:
            os.close(write_end)
            raise NotSupportedError(f"cannot run the -c command {argv[0]!r}: {exc.strerror}") from None
        finally:
            os.close(read_end)
        return cls(proc, write_end)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def release(self) -> None:
        if self.gate >= 0:
            os.write(self.gate, b"\n")
            os.close(self.gate)
            self.gate = -1

    def done(self) -> bool:
        return self.proc.poll() is not None

    def kill(self) -> None:
        if self.gate >= 0:
            os.close(self.gate)
            self.gate = -1
        if self.proc.poll() is None:
            import subprocess

            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _below_ten(fd: int) -> int:
    """``fd``, moved to the lowest free number from 3 up when it is 10 or more: POSIX shells (dash) accept
    only single-digit fds in redirections such as ``<&N``."""
    if fd < 10:
        return fd
    import fcntl

    low = fcntl.fcntl(fd, fcntl.F_DUPFD, 3)
    if low >= 10:
        os.close(low)
        return fd
    os.close(fd)
    return low
