"""Kernel and user-space symbolization against /proc/kallsyms, nm and a live process."""

from __future__ import annotations

import random
import subprocess
import textwrap
import time

import pytest

from purebpf.symbols import UNKNOWN, ProcessSymbols, Symbolizer, kernel_symbols


def test_kernel_symbols_agree_with_kallsyms():
    text = [line.split() for line in open("/proc/kallsyms") if line.split()[1] in "tT"]
    if not any(int(a, 16) for a, *_ in text):
        pytest.skip("kallsyms hides addresses (kptr_restrict)")
    ks = kernel_symbols()
    for addr, _, name, *_ in random.Random(7).sample(text, 200):
        value = int(addr, 16)
        assert ks.lookup(value) is not None
        found = ks.address(name)
        assert found is not None and ks.lookup(found) is not None
    addr = ks.address("do_sys_openat2")
    assert ks.lookup(addr) == "do_sys_openat2" and ks.lookup(addr + 3, offset=True) == "do_sys_openat2+3"
    assert ks.address("no_such_symbol_zz") is None


def test_user_symbols_of_a_live_process(tmp_path):
    src = tmp_path / "prog.c"
    src.write_text(textwrap.dedent("""
        #include <unistd.h>
        __attribute__((noinline)) int marker_function(int x) { return x * 3; }
        int main(void) { pause(); return marker_function(1); }
    """))
    binary = tmp_path / "prog"
    subprocess.run(["gcc", "-O1", "-o", str(binary), str(src)], check=True)
    nm = subprocess.run(["nm", str(binary)], capture_output=True, text=True, check=True).stdout
    vaddr = next(int(line.split()[0], 16) for line in nm.splitlines() if line.endswith(" marker_function"))
    proc = subprocess.Popen([str(binary)])
    try:
        deadline = time.monotonic() + 5
        while True:  # until the exec has replaced the forked child's mappings
            syms = ProcessSymbols(proc.pid)
            mapping = next((m for m in syms.maps if m.path == str(binary)), None)
            if mapping is not None or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert mapping is not None
        # a PIE's text is mapped at a load base; find it from the mapping holding the function
        base = mapping.start - mapping.offset
        addr = base + vaddr + 2
        assert syms.lookup(addr) == "marker_function"
        assert syms.lookup(addr, offset=True) == "marker_function+2"
        assert Symbolizer().user(proc.pid, addr) == "marker_function"
    finally:
        proc.kill()
        proc.wait()
    assert ProcessSymbols(proc.pid).symbol(addr) == UNKNOWN  # gone: bcc's placeholder


def test_python_interpreter_frames_name_libc():
    import ctypes
    import os

    libc = ctypes.CDLL(None)
    addr = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    assert ProcessSymbols(os.getpid()).lookup(addr) in ("getpid", "__getpid")
