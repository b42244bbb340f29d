"""Functions and runtime behaviours of ``purebpf trace`` checked on real probes of a small
program (funcwork.c): uaddr (fixed and position-independent binaries), macaddr, container_of,
pcomm/leader_comm, len() of stacks, uptr/kptr, ``probe`` of begin/end, raw tracepoint wildcards,
-k helper errors (text and JSON), -c splitting, exit() letting a burst in flight finish, SIGINT
under load, uprobes in zip archives, user stacks inside a pid namespace, BPFTRACE_LOG_SIZE."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from purebpf.links.symbols import archive_member, attach_path, symbol_offset
from purebpf.trace.child import split_command

HERE = Path(__file__).parent
TRACE = [sys.executable, "-m", "purebpf", "trace"]
PAIR = "struct Pair { const char *name; unsigned char mac[6]; int m; int n; };"


def run(program: str, *extra: str, env: dict | None = None, timeout: int = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*TRACE, *extra, "-e", program], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def ok(program: str, *extra: str) -> str:
    proc = run(program, *extra)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict[str, Path]:
    """funcwork built twice: position-independent (the compiler's default) and not."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the test program")
    d = tmp_path_factory.mktemp("funcwork")
    out = {"pie": d / "fwpie", "nopie": d / "fwnopie"}
    for kind, flags in (("pie", ["-fPIE", "-pie"]), ("nopie", ["-no-pie"])):
        subprocess.run(["gcc", "-O1", "-g", "-fno-omit-frame-pointer", *flags, "-o", str(out[kind]),
                        str(HERE / "funcwork.c")], check=True)
    return out


# -- uaddr ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["pie", "nopie"])
@pytest.mark.parametrize("probe", ["uprobe", "uretprobe"])
def test_uaddr_reads_globals_of_the_probed_binary(work, kind, probe):
    exe = work[kind]
    out = ok(f'{probe}:{exe}:take {{ printf("%x %d\\n", *uaddr("GLOBAL_X"), *uaddr("GLOBAL_S")); exit(); }}',
             "-c", str(exe))
    assert "1234567 77\n" in out


def test_uaddr_types_follow_the_symbol_size(work):
    out = ok(f'uprobe:{work["pie"]}:take {{ print(sizeof(*uaddr("GLOBAL_S"))); exit(); }}', "-c", str(work["pie"]))
    assert "2\n" in out


def test_uaddr_errors(work):
    proc = run(f'uprobe:{work["pie"]}:take {{ print(*uaddr("NO_SUCH_GLOBAL")); }}')
    assert proc.returncode != 0 and "Could not resolve symbol" in proc.stderr
    proc = run('begin { print(uaddr("GLOBAL_X")); }')
    assert proc.returncode != 0 and "uaddr can only be used with uprobe" in proc.stderr


# -- macaddr, container_of, pcomm, leader_comm, len(stack), uptr/kptr --------------------------------

def test_macaddr_prints_in_printf_keys_and_values(work):
    exe = work["pie"]
    out = ok(f'{PAIR} uprobe:{exe}:take {{ $p = (struct Pair *)arg0; printf("%s\\n", macaddr($p->mac)); '
             f'@k[macaddr($p->mac)] = 1; @v = macaddr($p->mac); print(macaddr((uint8 *)(arg0 + 8))); exit(); }}',
             "-c", str(exe))
    assert out.splitlines().count("01:02:03:AB:CD:EF") == 2
    assert "@k[01:02:03:AB:CD:EF]: 1\n" in out and "@v: 01:02:03:AB:CD:EF\n" in out


def test_macaddr_wants_six_bytes():
    proc = run('begin { $a = (uint8)1; print(macaddr($a)); }')
    assert proc.returncode != 0 and "macaddr() expects an array of at least 6 bytes or a pointer" in proc.stderr


def test_container_of_finds_the_enclosing_struct(work):
    exe = work["pie"]
    out = ok(f'{PAIR} uprobe:{exe}:take {{ $p = container_of((int32 *)arg1, typeof(struct Pair), n); '
             f'printf("%d %d\\n", $p->m, $p->n); exit(); }}', "-c", str(exe))
    assert "2 3\n" in out


def test_pcomm_and_leader_comm(work):
    exe = work["pie"]
    out = ok(f'uprobe:{exe}:take {{ printf("%s|%s|%s\\n", comm, pcomm, leader_comm()); exit(); }}', "-c", str(exe))
    # the -c child's parent is the tracer, which answers to bpftrace's name
    assert f"{exe.name}|bpftrace|{exe.name}\n" in out


def test_len_of_stacks(work):
    exe = work["pie"]
    out = ok(f'uprobe:{exe}:take {{ $s = ustack(2); @two = len($s); @all = len(ustack); @k = len(kstack); '
             f'exit(); }}', "-c", str(exe))
    assert "@two: 2\n" in out and "@k: 0\n" in out  # a uprobe stops in user space: no kernel frames
    assert int(re.search(r"@all: (\d+)", out).group(1)) >= 2  # take, main (and libc's start, if it unwinds)


def test_uptr_and_kptr_pass_the_value_through():
    assert ok('begin { print(kptr(5)); print(uptr((uint8 *)6)); }').startswith("5\n0x6\n")
    proc = run('begin { print(uptr("x")); }')
    assert proc.returncode != 0 and "uptr() expects an integer or a pointer" in proc.stderr


def test_probe_names_lowercase_begin_and_end():
    assert ok('begin { printf("%s", probe); exit(); } end { printf("-%s\\n", probe); }').startswith("begin-end\n")


# -- raw tracepoint wildcards ------------------------------------------------------------------------

def test_rawtracepoint_wildcards():
    out = ok('rawtracepoint:sys_ex* { printf("%s\\n", probe); exit(); }')
    assert "rawtracepoint:sys_exit\n" in out
    out = ok('rawtracepoint:vmlinu*:sys_exit { printf("%s\\n", probe); exit(); }')
    assert "rawtracepoint:vmlinux:sys_exit\n" in out
    proc = run('rawtracepoint:nonsens*:sys_exit { exit(); }')
    assert proc.returncode != 0 and "No matches for rawtracepoint nonsens*:sys_exit." in proc.stderr


# -- -k helper errors ----------------------------------------------------------------------------------

BAD_READ = "struct foo { int a; }; uprobe:EXE:bad { $x = ((struct foo *)arg0)->a; exit(); }"


def test_helper_error_as_json(work):
    program = BAD_READ.replace("EXE", str(work["pie"]))
    proc = run(program, "-k", "-q", "-f", "json", "-c", str(work["pie"]))
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    col = program.index("(struct foo") + 1  # where bpftrace locates the read: at the cast
    assert {"type": "helper_error", "msg": "Bad address", "helper": "probe_read_user", "retcode": -14,
            "filename": "stdin", "line": 1, "col": col} in records


def test_helper_error_as_text(work):
    proc = run(BAD_READ.replace("EXE", str(work["pie"])), "-k", "-c", str(work["pie"]))
    assert "WARNING: Bad address\nAdditional Info - helper: probe_read_user, retcode: -14\n" in proc.stderr
    proc = run('i:ms:100 { @[1] = 1; printf("%d\\n", @[2]); exit(); }', "-k", "-q", "-f", "json")
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert {"type": "helper_error", "msg": "Can't lookup map element because it does not exist.",
            "helper": "map_lookup_elem", "retcode": 0, "filename": "stdin", "line": 1, "col": 37} in records


# -- -c, exit(), signals -------------------------------------------------------------------------------

def test_command_splits_at_spaces_only():
    assert split_command("/bin/echo  a 'b c'") == ["/bin/echo", "a", "'b", "c'"]
    out = ok('t:syscalls:sys_enter_execve /pid == cpid/ { join(args.argv, ","); exit(); }', "-c",
             "/bin/echo 'A'")
    assert "/bin/echo,'A'\n" in out


def test_exit_lets_a_burst_in_flight_finish(work):
    """exit() is asynchronous in bpftrace: the calls already under way when it runs still count.  The
    program's 20 calls take a few microseconds unless the machine is loaded, so most of them, and
    usually all, land within the grace time after the first call's exit()."""
    exe = work["pie"]
    out = ok(f'uretprobe:{exe}:minus {{ @ = stats((int32)retval); exit(); }}', "-c", str(exe))
    found = re.search(r"^@: \{ \.count = (\d+), ", out, re.M)
    assert found and 2 <= int(found.group(1)) <= 20, out


def test_sigint_under_load_still_runs_end():
    """A backlog of slow events (system() for every context switch) must not keep END from running."""
    proc = subprocess.Popen([*TRACE, "--unsafe", "-e",
                             'tracepoint:sched:sched_switch { system("true"); } end { print("end"); }'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Attached" in proc.stderr.readline()
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "end\n" in out


# -- uprobes inside a zip archive ---------------------------------------------------------------------

def test_uprobe_in_zip_archive(work, tmp_path):
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("README", "padding before the binary\n")
        z.write(work["pie"], "bin/fw")
    spec = f"{archive}!/bin/fw"
    member = archive_member(spec)
    assert attach_path(spec) == str(archive)
    assert symbol_offset(spec, "take") == member.data_offset + symbol_offset(work["pie"], "take")
    assert archive.read_bytes()[member.data_offset:member.data_offset + 4] == b"\x7fELF"
    proc = run(f'uprobe:"{spec}":take {{}} begin {{ exit() }}')
    assert proc.returncode == 0 and "Attached 2 probes" in proc.stderr + proc.stdout


def test_uprobe_in_zip_archive_errors(work, tmp_path):
    archive = tmp_path / "packed.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.write(work["pie"], "fw")
    proc = run(f'uprobe:"{archive}!/fw":take {{}}')
    assert proc.returncode != 0 and "is compressed" in proc.stderr
    proc = run(f'uprobe:"{archive}!/missing":take {{}}')
    assert proc.returncode != 0 and "has no member 'missing'" in proc.stderr


# -- pid namespaces, verifier log size ---------------------------------------------------------------

def test_user_stack_named_inside_a_pid_namespace(work):
    """Tracer and target in one new pid namespace (with its own /proc): the stack's pid must be the
    namespace's, or the tracer finds no mappings to name the frames with."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is needed")
    exe = work["pie"]
    program = f"config = {{ show_debug_info = 0 }} uprobe:{exe}:spin {{ print(ustack); exit(); }}"
    script = f"({exe} spin &) && exec {' '.join(TRACE)} -e '{program}'"
    env = dict(os.environ, PYTHONPATH=str(HERE.parents[1]))
    proc = subprocess.run(["unshare", "--fork", "--pid", "--mount-proc", "sh", "-c", script],
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^\s+spin\+\d+$", proc.stdout, re.M), proc.stdout


def test_log_size_too_small_fails_the_load():
    proc = run('begin { if (str($1) == str($2)) { printf("%s\\n", str($1)); exit() } }', "-v",
               "hello", "hello", env={"BPFTRACE_LOG_SIZE": "2"})
    assert proc.returncode != 0
    assert "ERROR: Error loading BPF program for begin_1. Error code: -28 (No space left on device)." in proc.stderr
    assert re.search(r"^WARNING: Kernel log seems to be trimmed", proc.stderr, re.M)
    assert ok('config = { log_size = 1000000 } begin { print(1); exit(); }', "-v").startswith("1\n")
