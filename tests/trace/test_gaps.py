"""Smaller bpftrace behaviours: rawtracepoints loaded as tp_btf (skboutput, socket_cookie,
argN), pid namespaces, ppid(), uprobe offset bounds, string-parameter arithmetic, config(),
pointer casts of literals, and redefined kernel types."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from purebpf.errors import InvalidInputError
from purebpf.links.symbols import symbol_offset, symbol_table
from purebpf.sys import ProgType
from purebpf.trace.compiler import compile_program
from purebpf.trace.pcap import LINKTYPE_RAW, read_pcap
from purebpf.trace.runtime import Tracer

from .test_runtime import ours, python_command

needs_ip = pytest.mark.skipif(not shutil.which("ip"), reason="iproute2 (ip netns) is not installed")


@pytest.fixture
def netns():
    """A network namespace with its loopback up, removed afterwards."""
    name = f"pbt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)


def in_netns(ns: str, code: str, where) -> str:
    """A -c command running Python ``code`` in netns ``ns``."""
    return f"ip netns exec {ns} {python_command(code, where)}"


@needs_ip
def test_skboutput_writes_the_packet_to_a_pcap_file(netns, tmp_path):
    payload = "purebpf-skboutput-" + "x" * 29  # 47 bytes: a packet length nothing else on lo is likely to have
    pcap = tmp_path / "out.pcap"
    send = in_netns(netns, "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                           f"s.sendto(b\"{payload}\", (\"127.0.0.1\", 9))", tmp_path)
    length = 14 + 20 + 8 + len(payload)  # loopback's ethernet header, IPv4, UDP, data
    proc = ours(f'rawtracepoint:net_dev_start_xmit /args.skb->len == {length}/ '
                f'{{ $r = skboutput("{pcap}", args.skb, args.skb->len, 14); printf("ret %d\\n", $r); }}', send)
    assert proc.returncode == 0, proc.stderr
    assert "ret 0\n" in proc.stdout
    linktype, packets = read_pcap(str(pcap))
    assert linktype == LINKTYPE_RAW
    packet = packets[0][1]
    assert len(packet) == length - 14 and packet[0] >> 4 == 4 and packet.endswith(payload.encode())


@needs_ip
def test_socket_cookie_of_a_rawtracepoint_argument_is_the_sockets_cookie(netns, tmp_path):
    cookie_file = tmp_path / "cookie"
    connect = in_netns(netns, "import socket; s = socket.socket(); "
                              f"open(\"{cookie_file}\", \"w\").write(str(int.from_bytes("
                              "s.getsockopt(socket.SOL_SOCKET, 57, 8), \"little\"))); "
                              "s.connect_ex((\"127.0.0.1\", 1))", tmp_path)
    proc = ours('rawtracepoint:inet_sock_set_state /args.newstate == 2/ '  # TCP_SYN_SENT
                '{ printf("cookie %llu\\n", socket_cookie(args.sk)); }', connect)
    assert proc.returncode == 0, proc.stderr
    assert f"cookie {cookie_file.read_text()}\n" in proc.stdout


def test_btf_pointer_helpers_need_a_btf_typed_probe():
    proc = ours("BEGIN { $c = socket_cookie(0); }")
    assert proc.returncode != 0
    assert "socket_cookie() can only be used in fentry, fexit and rawtracepoint probes" in proc.stderr


def test_rawtracepoint_argn_and_fallback_to_raw_tp(workload):
    # arg1 of sys_enter is the syscall number; the cast of a typed pointer to a 32-bit integer is a
    # bit operation the verifier refuses on tp_btf pointers, so that probe loads as a plain raw_tp
    proc = ours("rawtracepoint:sys_enter /pid == cpid && arg1 == 39/ { @n = count(); "
                "@low[(uint32)args.regs > 0] = count(); }", f"{workload} getpid 5")
    assert proc.returncode == 0, proc.stderr
    assert "@n: 5\n" in proc.stdout and "@low[true]: 5\n" in proc.stdout


def test_rawtracepoints_described_by_btf_load_as_tp_btf():
    programs = {"rawtracepoint:sys_enter { @ = count(); }": ProgType.TRACING,
                "rawtracepoint:sys_enter { @[(uint32)args.regs] = count(); }": ProgType.RAW_TRACEPOINT}
    for text, prog_type in programs.items():
        with Tracer(compile_program(text), out=io.StringIO()) as tracer:
            assert [p.type for p in tracer.progs.values()] == [prog_type], text


def test_pid_and_tid_in_a_pid_namespace():
    program = 'BEGIN { printf("%d %d %d %d %d %d\\n", pid, pid(curr_ns), pid(init), tid, tid(curr_ns), tid(init)); }'
    inside = subprocess.run(["unshare", "--fork", "--pid", "--mount-proc", sys.executable, "-m", "purebpf", "trace",
                             "-e", program], capture_output=True, text=True, timeout=60)
    assert inside.returncode == 0, inside.stderr
    values = [int(v) for v in inside.stdout.split()]
    assert values[:2] == [1, 1] and values[3:5] == [1, 1] and values[2] > 1 and values[5] == values[2]
    outside = ours(program)
    values = [int(v) for v in outside.stdout.split()]
    assert len(set(values)) == 1 and values[0] > 1


def test_pid_namespace_argument_is_checked():
    proc = ours("BEGIN { print(pid(elsewhere)); }")
    assert proc.returncode != 0 and "pid() takes a pid namespace: curr_ns or init" in proc.stderr


def test_ppid_of_a_task_is_its_parents_pid():
    proc = ours('BEGIN { printf("%d\\n", ppid(curtask)); }')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == str(os.getpid())


def test_uprobe_offset_must_stay_inside_the_function(workload):
    size = symbol_table(workload).sizes["visit"]
    assert size > 0
    assert symbol_offset(workload, "visit", size - 1) == symbol_offset(workload, "visit") + size - 1
    with pytest.raises(InvalidInputError, match=rf"Offset outside the function bounds \('visit' size is {size}\)"):
        symbol_offset(workload, "visit", size)
    proc = ours(f"uprobe:{workload}:visit+{size + 100} {{ exit(); }}")
    assert proc.returncode != 0
    assert f"Offset outside the function bounds ('visit' size is {size})" in proc.stderr


def test_string_parameter_arithmetic_skips_characters():
    proc = subprocess.run([sys.executable, "-m", "purebpf", "trace", "-e",
                           'BEGIN { printf("%s|%s\\n", str($1 + 1), str($1 + 3)); }', "hello"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "ello|lo\n" in proc.stdout


def test_config_reports_the_options_as_bpftrace_names_them():
    proc = ours('config = { missing_probes = "warn" } '
                'BEGIN { printf("%d %s %d %s\\n", config().max_strlen, config().stack_mode, config().cpp_demangle, '
                'config().missing_probes); }')
    assert proc.returncode == 0, proc.stderr
    assert "1024 bpftrace 1 warn\n" in proc.stdout


def test_a_negative_literal_cast_to_a_pointer_is_zero_extended_from_its_own_size():
    proc = ours("macro cst(a) { (a*)-1 } BEGIN { print(cst(typeof(uint8))); print((int32 *)-200); "
                "$x = -1; print((uint8 *)$x); }")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-3:] == ["0xff", "0xff38", "0xffffffffffffffff"]


def test_a_redefined_kernel_type_does_not_borrow_kernel_members():
    proc = ours('struct task_struct { struct thread_info x; } BEGIN { printf("%d\\n", curtask.x.status); }')
    assert proc.returncode != 0 and "field has incomplete type 'struct thread_info'" in proc.stderr
    proc = ours("struct foo { struct task_struct t; } BEGIN { exit(); }")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.guest_kernel
def test_socket_cookie_in_fentry_matches_the_sockets_cookie(tmp_path):
    cookie_file = tmp_path / "cookie"
    connect = python_command(f"import socket; s = socket.socket(); open({str(cookie_file)!r}, 'w').write(str("
                             "int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 57, 8), 'little'))); "
                             "s.connect_ex(('127.0.0.1', 1))", tmp_path)
    proc = ours('fentry:tcp_v4_connect /pid == cpid/ { printf("cookie %llu\\n", socket_cookie(args.sk)); }', connect)
    assert proc.returncode == 0, proc.stderr
    assert f"cookie {cookie_file.read_text()}\n" in proc.stdout
