"""Uprobe and uretprobe links on a small C program and on libc."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest
from tracing_helpers import array_map, compile_c, recorder

from purebpf.errors import InvalidInputError, NotFoundError
from purebpf.links import Uprobe
from purebpf.links.symbols import resolve_binary, symbol_offset
from purebpf.programs import Program
from purebpf.sys import ProgType

# x86_64 struct pt_regs offsets
DI, SI, AX = 112, 104, 80

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>

__attribute__((noipa)) int add(int a, int b) { return a + b; }
__attribute__((noipa)) static int hidden_mul(int a, int b) { return a * b; }

int main(int argc, char **argv) {
    char line[16];
    if (argc < 3 || !fgets(line, sizeof line, stdin))  /* wait until the test has attached */
        return 1;
    int a = atoi(argv[1]), b = atoi(argv[2]);
    printf("%d %d\n", add(a, b), hidden_mul(a, b));
    return 0;
}
"""

pytestmark = pytest.mark.skipif(os.uname().machine != "x86_64", reason="pt_regs offsets are x86_64's")


@pytest.fixture(scope="module")
def adder(tmp_path_factory):
    return compile_c(SOURCE, tmp_path_factory.mktemp("uprobe") / "adder")


def start(binary, a: int, b: int) -> subprocess.Popen:
    return subprocess.Popen([str(binary), str(a), str(b)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(b"go\n", timeout=10)
    assert proc.returncode == 0
    return out.decode()


def kprobe_prog(insns, name):
    return Program(ProgType.KPROBE, insns, name=name)


def test_uprobe_and_uretprobe_see_arguments_and_return_value_of_one_process(adder):
    target, other = start(adder, 1234, 4321), start(adder, 5, 6)
    try:
        with array_map(name="args") as args, array_map(name="rets") as rets, \
                kprobe_prog(recorder(args, None, {1: DI, 2: SI}, width=4), "add_entry") as entry, \
                kprobe_prog(recorder(rets, None, {1: AX}, width=4), "add_exit") as exit_:
            # the programs do not filter: the kernel's pid filter must keep `other` out
            with Uprobe(entry, str(adder), "add", pid=target.pid), \
                    Uprobe(exit_, str(adder), "add", pid=target.pid, retprobe=True) as ret_link:
                assert finish(other) == "11 30\n"
                assert finish(target) == "5555 5332114\n"
                assert ret_link.kind == "uretprobe" and ret_link.info().prog_id
            assert (args[0], args[1], args[2]) == (1, 1234, 4321)
            assert (rets[0], rets[1]) == (1, 5555)
    finally:
        for p in (target, other):
            p.kill()
            p.wait()


def test_static_function_by_symtab_and_symbol_plus_offset(adder):
    proc = start(adder, 7, 8)
    try:
        with array_map() as args, kprobe_prog(recorder(args, proc.pid, {1: DI, 2: SI}, width=4), "mul") as prog:
            with Uprobe(prog, str(adder), "hidden_mul"):
                assert finish(proc) == "15 56\n"
            assert (args[0], args[1], args[2]) == (1, 7, 8)
    finally:
        proc.kill()
        proc.wait()
    # "name+N", an int address, and offset= agree with the ELF symbol (nm is the oracle)
    nm = subprocess.run(["nm", str(adder)], capture_output=True, text=True, check=True).stdout
    addr = int(next(ln.split()[0] for ln in nm.splitlines() if ln.endswith(" add")), 16)
    base = symbol_offset(adder, "add")
    assert symbol_offset(adder, addr) == base
    assert symbol_offset(adder, "add+0x4") == base + 4


def test_libc_function_resolved_by_library_name():
    libc = ctypes.CDLL(str(resolve_binary("c")))
    assert resolve_binary("libc.so.6") == resolve_binary("c") == resolve_binary("libc")
    n = 17
    with array_map() as args, kprobe_prog(recorder(args, os.getpid(), {1: DI}), "labs") as prog:
        with Uprobe(prog, "c", "labs", pid=os.getpid()) as link:
            for i in range(n):
                assert libc.labs(-1000 - i) == 1000 + i
            assert str(link.path).endswith("libc.so.6")
        assert args[0] == n
        assert args[1] == (-1000 - (n - 1)) & 0xFFFFFFFFFFFFFFFF
        libc.labs(-1)
        assert args[0] == n


def test_missing_binary_and_symbol_are_named(adder, tmp_path, no_fd_leak):
    stripped = tmp_path / "adder.stripped"
    shutil.copy(adder, stripped)
    subprocess.run(["strip", str(stripped)], check=True)
    with array_map() as args, kprobe_prog(recorder(args, 1, {1: DI}), "p") as prog:
        with pytest.raises(NotFoundError, match="binary /nonexistent/prog does not exist"):
            Uprobe(prog, "/nonexistent/prog", "main")
        with pytest.raises(NotFoundError, match="cannot find binary or library 'libnosuchlib'"):
            Uprobe(prog, "libnosuchlib", "main")
        with pytest.raises(NotFoundError, match=f"symbol 'no_such_func' not found in {adder}"):
            Uprobe(prog, str(adder), "no_such_func")
        with pytest.raises(NotFoundError, match="'hidden_mul' not found .*no .symtab.*stripped"):
            Uprobe(prog, str(stripped), "hidden_mul")
        with pytest.raises(NotFoundError, match="'printf' is not defined .* shared library"):
            Uprobe(prog, str(adder), "printf")
        with pytest.raises(InvalidInputError, match="offset"):
            Uprobe(prog, str(adder), "add", offset=-1)
        with pytest.raises(NotFoundError, match="no process with pid"):
            Uprobe(prog, str(adder), "add", pid=2**22 + 12345)
        with Program(ProgType.TRACEPOINT, recorder(args, 1, {}), name="tp") as wrong:
            with pytest.raises(InvalidInputError, match="type KPROBE"):
                Uprobe(wrong, str(adder), "add")
