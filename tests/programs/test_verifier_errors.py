"""What a rejected load tells the user: the reason in one line, the full log,
the source line when line_info is present, and hints for the usual causes."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import closing

import pytest

from purebpf.asm import R0, R1, call, exit_, ldx, mov
from purebpf.btf.load import load_btf
from purebpf.errors import InvalidInputError, SyscallError, VerifierError
from purebpf.programs import Program, ProgType

from .btf_for_programs import FUNC_INFO_REC, LINE_INFO_REC, function_btf


def test_reason_is_one_line_and_log_is_complete(no_fd_leak):
    with pytest.raises(VerifierError) as info:
        Program(ProgType.SOCKET_FILTER, [exit_()], name="no_r0")
    exc = info.value
    message = str(exc)
    assert "\n" not in message
    assert "program 'no_r0'" in message and "R0 !read_ok" in message
    assert "processed" in exc.log and "R0 !read_ok" in exc.log
    assert exc.errno == 13  # EACCES
    assert exc.source_line is None


def test_fixed_log_size_too_small_fails_with_enospc(no_fd_leak):
    insns = [mov(R0, 0), exit_()]
    with pytest.raises(SyscallError) as info:
        Program(ProgType.SOCKET_FILTER, insns, log_level=1, log_size=2)
    assert info.value.errno == 28  # ENOSPC: the kernel's answer when the log does not fit
    with Program(ProgType.SOCKET_FILTER, insns, log_level=1, log_size=4096) as prog:
        assert "processed 2 insns" in prog.verifier_log
    with pytest.raises(InvalidInputError, match="log_size"):
        Program(ProgType.SOCKET_FILTER, insns, log_size=-1)


def test_log_level_2_keeps_the_log_of_a_good_program():
    insns = [mov(R0, 0), exit_()]
    with Program(ProgType.SOCKET_FILTER, insns, log_level=1) as brief, \
            Program(ProgType.SOCKET_FILTER, insns, log_level=2) as full:
        assert "processed 2 insns" in brief.verifier_log and "processed 2 insns" in full.verifier_log
        # level 2 walks every instruction even when nothing goes wrong
        assert "(95) exit" in full.verifier_log and "(95) exit" not in brief.verifier_log


def test_empty_program_is_an_input_error(no_fd_leak):
    with pytest.raises(InvalidInputError, match="has no instructions.*mov\\(R0, 0\\), exit_\\(\\)"):
        Program(ProgType.XDP, [], name="empty")


def test_gpl_only_helper_with_other_license_says_how_to_fix(no_fd_leak):
    with pytest.raises(VerifierError, match="GPL-restricted.*license='GPL'"):
        Program(ProgType.KPROBE, [call("probe_read_kernel"), exit_()], license="Proprietary")


def test_helper_not_for_this_type_is_explained(no_fd_leak):
    with pytest.raises(VerifierError, match="cannot use helper bpf_xdp_adjust_head|unknown func"):
        Program(ProgType.SOCKET_FILTER, [call("xdp_adjust_head"), exit_()])


def test_eperm_names_the_capabilities():
    """An unprivileged user (uid nobody) is refused with a hint naming the fix."""
    code = (
        "import os\n"
        "from purebpf.asm import R0, exit_, mov\n"
        "from purebpf.errors import SyscallError\n"
        "from purebpf.programs import Program, ProgType\n"
        "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        "try:\n"
        "    Program(ProgType.SOCKET_FILTER, [mov(R0, 0), exit_()])\n"
        "except SyscallError as exc:\n"
        "    print(exc.errno, exc)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": root}, timeout=30)
    unprivileged = open("/proc/sys/kernel/unprivileged_bpf_disabled").read().strip()
    if unprivileged == "0":
        pytest.skip("this kernel lets unprivileged users load socket filters")
    assert out.stdout.startswith("1 "), out.stdout + out.stderr
    assert "EPERM" in out.stdout and "CAP_BPF" in out.stdout and "unprivileged_bpf_disabled" in out.stdout


def test_func_and_line_info_load_and_are_reported(no_fd_leak):
    blob, func_info, line_info = function_btf(
        "answer", "answer.c", [(0, "int answer(void) { return 42; }", 3), (1, "}", 4)])
    with closing(load_btf(blob)) as btf, Program(
            ProgType.SOCKET_FILTER, [mov(R0, 42), exit_()], name="answer", prog_btf_fd=btf.raw,
            func_info=func_info, func_info_rec_size=FUNC_INFO_REC.size,
            line_info=line_info, line_info_rec_size=LINE_INFO_REC.size) as prog:
        info = prog.info()
        assert info.btf_id > 0
        assert info.nr_func_info == 1 and info.nr_line_info == 2
        assert prog.test_run(bytes(20)).retval == 42


def test_verifier_error_points_at_the_source_line(no_fd_leak):
    source = "return skb->no_such_field;"
    blob, func_info, line_info = function_btf(
        "bad_read", "bad.c", [(0, source, 7), (1, "return 0;", 8)])
    # r0 = *(u32 *)(ctx + 4000): far outside struct __sk_buff
    insns = [ldx(4, R0, R1, 4000), exit_()]
    with closing(load_btf(blob)) as btf, pytest.raises(VerifierError) as info:
        Program(ProgType.SOCKET_FILTER, insns, name="bad_read", prog_btf_fd=btf.raw,
                func_info=func_info, func_info_rec_size=FUNC_INFO_REC.size,
                line_info=line_info, line_info_rec_size=LINE_INFO_REC.size)
    exc = info.value
    assert f"; {source}" in exc.log
    if " @ " in exc.log:  # Linux 6.2+ also names the file and line
        assert f"; {source} @ bad.c:7" in exc.log
    assert exc.source_line is not None and exc.source_line.startswith(source)
    assert source in str(exc) and "invalid bpf_context access" in str(exc)
    assert "\n" not in str(exc)


def test_syscall_error_without_log_has_errno_name(no_fd_leak):
    # an unknown program type: EINVAL before the verifier runs
    from purebpf.programs import ProgramSpec
    spec = ProgramSpec(ProgType.LIRC_MODE2, [mov(R0, 0), exit_()], expected_attach_type=16)
    try:
        Program(spec).close()
    except SyscallError as exc:
        assert not isinstance(exc, VerifierError)
        assert str(exc).startswith("loading lirc_mode2 program failed: EINVAL (")
    else:
        pytest.skip("this kernel has BPF_LIRC_MODE2 (CONFIG_BPF_LIRC_MODE2=y)")


def test_rejection_listing_marks_the_failing_instruction(no_fd_leak):
    from purebpf.asm.builders import ld_imm64
    from purebpf.programs.rejection import failing_insn, rejection_listing, summary

    # a 64-bit load takes two slots: the mark must follow slot numbers, not list positions
    insns = [mov(R0, 0), ld_imm64(R1, 1 << 40), mov(R1, 1), ldx(8, R0, 2, 0), exit_()]
    with pytest.raises(VerifierError) as info:
        Program(ProgType.SOCKET_FILTER, insns)
    exc = info.value
    assert failing_insn(exc.log) == 4
    marked = [line for line in rejection_listing(exc).splitlines() if line.startswith("=>")]
    assert marked == ["=>    4: (79) r0 = *(u64 *)(r2 +0)"]
    assert summary(exc).endswith("(R0 must hold the return value at exit)")  # no ".log" hint for CLI users


def test_a_helper_the_kernel_withholds_is_not_shown_as_a_code_problem(no_fd_leak):
    from purebpf.asm.helpers import helper_id
    from purebpf.programs.rejection import is_kernel_limit, rejection_listing
    from purebpf.sys.fs import lockdown_mode

    # socket filters may never call bpf_probe_write_user
    insns = [mov(R1, 0), mov(2, 0), mov(3, 0), call(helper_id("bpf_probe_write_user")), mov(R0, 0), exit_()]
    with pytest.raises(VerifierError) as info:
        Program(ProgType.SOCKET_FILTER, insns)
    assert is_kernel_limit(info.value) and rejection_listing(info.value) == ""
    assert lockdown_mode() in (None, "none", "integrity", "confidentiality")


def test_lockdown_is_named_when_it_withdraws_write_user(no_fd_leak):
    from purebpf.sys.fs import lockdown_mode

    if lockdown_mode() not in ("integrity", "confidentiality"):
        pytest.skip("kernel lockdown is off here: bpf_probe_write_user is available to tracing programs")
    out = subprocess.run(
        [sys.executable, "-m", "purebpf", "trace", "--unsafe", "-e",
         'tracepoint:syscalls:sys_enter_getppid /pid == 0/ { write_user(args.__syscall_nr, "x", 1); }'],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"kernel lockdown ({lockdown_mode()}) withdraws bpf_probe_write_user" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
