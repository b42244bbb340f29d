"""``purebpf trace`` command line: bpftrace's flags, messages and exit codes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

needs_bpftrace = pytest.mark.skipif(not shutil.which("bpftrace"), reason="bpftrace (the oracle) is not installed")


def trace(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "purebpf", "trace", *args], capture_output=True, text=True,
                          timeout=60, input=stdin, env=dict(os.environ, **(env or {})))


def test_help_and_bad_flags_print_usage():
    assert trace("-h").stdout.startswith("USAGE:")
    bad = trace("-idonotexist")
    assert bad.returncode == 1 and "ERROR: invalid option -- 'i'" in bad.stderr and "USAGE:" in bad.stderr


def test_version_names_the_bpftrace_language_first_then_purebpf():
    """Scripts check ``bpftrace --version`` against ``^bpftrace v\\d``: the language level comes first."""
    from purebpf import __version__
    line = trace("--version").stdout.strip()
    assert re.match(r"bpftrace v\d+\.\d+\.\d+ \(purebpf trace v", line) and f"v{__version__}" in line


@pytest.mark.parametrize(("pid", "message"), [
    ("a1111", "ERROR: Failed to parse pid: invalid integer: a1111"),
    ("111a1", "ERROR: Failed to parse pid: invalid trailing bytes: 111a1"),
    ("5000000", "ERROR: Pid out of range: 5000000"),
])
def test_pid_validation_messages(pid, message):
    proc = trace("-p", pid, "-e", "begin { print(1); }")
    assert proc.returncode == 1 and proc.stderr.strip() == message


def test_program_from_stdin_exit_code_and_quiet():
    proc = trace("-q", "-", stdin='begin { printf("hello\\n"); exit(3); }')
    assert proc.returncode == 3
    assert proc.stdout.startswith("hello\n") and "Attached" not in proc.stderr


def test_options_after_the_program_and_positional_parameters():
    proc = trace("-e", 'begin { printf("%s %d\\n", str($1), $2 + $#); }', "one", "2", "--no-warnings")
    assert proc.returncode == 0 and proc.stdout.startswith("one 4\n")


def test_warnings_can_be_silenced():
    program = "config = { max_probes = 10 } begin { }"
    assert "WARNING" in trace("-e", program).stderr
    assert "WARNING" not in trace("--no-warnings", "-e", program).stderr


def test_output_file_and_json_attached_probes(tmp_path):
    path = tmp_path / "out.txt"
    proc = trace("-f", "json", "-o", str(path), "-e", 'begin { printf("x"); }')
    assert proc.returncode == 0
    assert path.read_text().splitlines()[:2] == ['{"type": "attached_probes", "count": 1, "data": {"probes": 1}}',
                                                 '{"type": "printf", "data": "x"}']
    assert trace("-f", "jsonx", "-e", "begin { }").stderr.startswith('ERROR: Invalid output format "jsonx"')


def test_notify_line_and_command_pid():
    proc = trace("-e", 'BEGIN { printf("cpid=%d\\n", cpid > 0); }', "-c", "true",
                 env={"__BPFTRACE_NOTIFY_PROBES_ATTACHED": "1"})
    assert proc.stdout.splitlines()[:2] == ["__BPFTRACE_NOTIFY_PROBES_ATTACHED", "cpid=1"]


def test_info_reports_features_as_bpftrace_does():
    lines = trace("--info").stdout.splitlines()
    assert "  Loop support: yes" in lines and "  kprobe_session: no" in lines and "  tracepoint: yes" in lines
    # what purebpf trace itself uses: tp_btf for typed raw tracepoints, get_func_ip for func, library names
    assert "  tp_btf: yes" in lines and "  get_func_ip: yes" in lines
    assert "  library path resolution (libpath_resolv): yes" in lines


def test_listing_fixed_providers():
    out = trace("-l", "*ware:*").stdout.splitlines()
    assert "software:cpu-clock:" in out and "hardware:cpu-cycles:" in out
    assert trace("-l", "interval:*").stdout.splitlines() == ["interval:hz:", "interval:us:", "interval:ms:",
                                                             "interval:s:"]


def test_listing_a_programs_probes():
    out = trace("-l", "-e", "hardware:cache-misses:10 { } tracepoint:sched:sched_switch { }").stdout
    assert out.splitlines() == ["hardware:cache-misses:", "tracepoint:sched:sched_switch"]


def test_listing_missing_file_warns_and_searches():
    proc = trace("-l", "nonexistent_zz.bt")
    assert proc.stderr.strip() == ("WARNING: It appears that 'nonexistent_zz.bt' is a filename but the file does not "
                                   "exist. Treating 'nonexistent_zz.bt' as a search pattern.")


@needs_bpftrace
def test_tracepoint_listing_matches_bpftrace():
    mine = trace("-l", "tracepoint:sched:sched_*").stdout
    theirs = subprocess.run(["bpftrace", "-l", "tracepoint:sched:sched_*"], capture_output=True, text=True,
                            timeout=60).stdout
    assert mine.splitlines() == theirs.splitlines()


def test_unsupported_feature_is_one_error_line():
    proc = trace("-e", "begin { $x = sarg0; }")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "ERROR:" in proc.stderr and "sarg0 builtin is not supported" in proc.stderr


def test_verbose_shows_the_verifiers_statistics():
    proc = trace("-v", "-e", "BEGIN { @x = count(); }")
    assert proc.returncode == 0
    assert "The verifier log for begin" in proc.stderr and "processed " in proc.stderr and "insns (limit" in proc.stderr


def test_probe_filter_keeps_begin_and_end():
    proc = trace("--probe-filter", ":200", "-e", 'BEGIN { printf("b\\n"); } interval:ms:100 { printf("bad\\n"); '
                 'exit(); } interval:ms:200 { printf("hit\\n"); exit(); } END { printf("e\\n"); }')
    assert proc.stdout.splitlines()[:3] == ["b", "hit", "e"]


def test_named_program_options_are_checked():
    proc = trace("-e", 'begin { print(getopt("aa", 10)); }', "--", "--bb")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["ERROR: unexpected program command line options: --bb",
                                        "HINT: expected program options: --aa"]


def test_aot_writes_a_command_that_runs_the_program_with_its_own_options(tmp_path):
    command = tmp_path / "prog.btaot"
    made = trace("-e", 'begin { print((getopt("aa", 10), getopt("cc", true), getopt("dd"))); exit(); }',
                 "--aot", str(command))
    assert made.returncode == 0, made.stderr
    ran = subprocess.run([str(command), "--", "--dd", "--aa=20", "--cc=False"], capture_output=True, text=True,
                         timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "(20, false, true)\n" in ran.stdout


def test_aot_refuses_a_bad_program_and_writes_nothing(tmp_path):
    command = tmp_path / "bad.btaot"
    made = trace("-e", "begin { print(nosuch); }", "--aot", str(command))
    assert made.returncode == 1 and "Unknown identifier: 'nosuch'" in made.stderr
    assert not command.exists()


def test_the_last_e_is_the_program_as_in_bpftrace():
    proc = trace("-e", 'BEGIN { printf("first\\n"); exit(); }', "-e", 'BEGIN { printf("second\\n"); exit(); }')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["second"] and "Attached 1 probe" in proc.stderr
