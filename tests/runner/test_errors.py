"""Bad input gives one line on stderr, exit status 1, and leaves nothing behind."""

from __future__ import annotations

import os

import pytest

from purebpf.cli.main import main
from tests.runner.conftest import run_cli


@pytest.mark.parametrize("args, message", [
    (["--bogus", "1"], "unrecognized arguments: --bogus 1"),
    (["--target-pid", "abc"], "argument --target-pid: 'abc' is not an integer"),
    (["--target-pid", "-1"], "-1 does not fit const volatile __u32"),
    (["--mode", "fastest"], "'fastest' is not a value of const volatile enum mode"),
    (["--duration", "-1"], "give a positive number of seconds"),
])
def test_bad_options(bpf_objects, args, message):
    res = run_cli("run", bpf_objects["options"], *args)
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and message in res.stderr and res.stdout == ""


def test_not_a_bpf_object(tmp_path):
    text = tmp_path / "x.o"
    text.write_text("hello")
    res = run_cli("run", str(text))
    assert (res.returncode, res.stderr.strip()) == (1, f"purebpf: error: {text}: not an ELF file; expected a "
                                                       "BPF object built with `clang -target bpf -c`")
    res = run_cli("run", "/nonexistent/x.bpf.o")
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "no such BPF object file" in res.stderr
    res = run_cli("package", str(text), "-o", str(tmp_path / "p.json"))
    assert res.returncode == 1 and "not an ELF file" in res.stderr and not (tmp_path / "p.json").exists()


def _pins() -> set[str]:
    return set(os.listdir("/sys/fs/bpf")) if os.path.isdir("/sys/fs/bpf") else set()


@pytest.mark.parametrize("args, message", [
    (["--hist", "nope"], "has no map 'nope'"),
    (["--hist", "configs"], "map 'configs' is not a histogram"),
    (["--event-type", "nope"], "has no struct 'nope' in its BTF"),
])
def test_errors_after_load_leak_nothing(bpf_objects, no_fd_leak, capsys, args, message):
    pins = _pins()
    assert main(["run", bpf_objects["options"], *args]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert _pins() == pins


def test_a_command_that_cannot_start(bpf_objects):
    res = run_cli("run", bpf_objects["options"], "--", "/nonexistent/tool")
    assert res.returncode == 1
    assert res.stderr.splitlines()[-1] == ("purebpf: error: cannot run '/nonexistent/tool' after '--': "
                                           "No such file or directory")
