"""tcpconnect, tcpstates and tcplife see exactly the connections the workload
makes over loopback in a network namespace the test creates."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.tools.harness import WORK_COMM, one_line_error, run_purebpf, settle, start_oracle, start_purebpf

PORT = 47123
N = 3



def connect(netns: str, work: str, n: int = N) -> None:
    subprocess.run(["ip", "netns", "exec", netns, work, "connect", str(n), str(PORT)], check=True, timeout=30)


def test_tcpconnect_sees_each_connect(netns, work):
    tool = start_purebpf("tcpconnect", "-P", str(PORT))
    connect(netns, work)
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split() == ["PID", "COMM", "IP", "SADDR", "DADDR", "DPORT"]
    rows = [ln.split() for ln in lines[1:]]
    assert [r[1:] for r in rows] == [[WORK_COMM, "4", "127.0.0.1", "127.0.0.1", str(PORT)]] * N


def test_tcpconnect_count_and_json(netns, work):
    tool = start_purebpf("tcpconnect", "-c", "-j")
    connect(netns, work)
    settle()
    records = [json.loads(x) for x in tool.stop().splitlines()]
    assert {"saddr": "127.0.0.1", "sport": None, "daddr": "127.0.0.1", "dport": PORT, "connects": N} in records


def test_tcpstates_sees_the_whole_life(netns, work):
    tool = start_purebpf("tcpstates", "-D", str(PORT))
    connect(netns, work, 1)
    settle()
    rows = [ln.split() for ln in tool.stop().splitlines()[1:]]
    assert [(r[7], r[9]) for r in rows] == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                                            ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                                            ("FIN_WAIT2", "CLOSE")]
    assert len({r[0] for r in rows}) == 1 and rows[0][10] == "0.000"


def test_tcplife_sees_both_ends_with_bytes(netns, work):
    tool = start_purebpf("tcplife", "-j")
    connect(netns, work)
    settle()
    records = [json.loads(x) for x in tool.stop().splitlines()]
    client = [r for r in records if r["rport"] == PORT]
    server = [r for r in records if r["lport"] == PORT]
    assert len(client) == len(server) == N
    # 5 bytes of data; the kernel's counters also count the SYN and FIN sequence numbers
    assert all(r["comm"] == WORK_COMM and 5 <= r["tx_bytes"] <= 7 and r["rx_bytes"] <= 2 for r in client)
    assert all(5 <= r["rx_bytes"] <= 7 for r in server)


@pytest.mark.parametrize("tool,flags,mask", [
    # libbpf-tools' tcpconnect needs kprobes: compared under the guest kernel only
    pytest.param("tcpconnect", ["-P", str(PORT)], lambda r: r[1:], marks=pytest.mark.guest_kernel),  # PID masked
    ("tcpstates", ["-D", str(PORT)], lambda r: r[2:4] + r[5:6] + r[7:10]),  # skaddr, pid, sport, ms masked
    ("tcplife", ["-D", str(PORT)], lambda r: r[1:3] + r[4:8]),              # pid, sport, ms masked
])
def test_same_rows_as_libbpf_tools(netns, work, tool, flags, mask):
    oracle, ours = start_oracle(tool, *flags), start_purebpf(tool, *flags)
    connect(netns, work)
    settle()
    theirs, mine = oracle.stop().splitlines(), ours.stop().splitlines()
    assert [mask(ln.split()) for ln in mine[1:]] == [mask(ln.split()) for ln in theirs[1:]]
    assert len(mine) > N and mine[0].split() == theirs[0].split()


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("tcpconnect", "-P", "http"))
    one_line_error(run_purebpf("tcpstates", "-L", "70000"))
    one_line_error(run_purebpf("tcplife", "-p", "999999"))


def test_tcpaccept_sees_each_accept(netns, work):
    tool = start_purebpf("tcpaccept", "-P", str(PORT))
    js = start_purebpf("tcpaccept", "-j", "-t")
    connect(netns, work)
    settle()
    lines = tool.stop().splitlines()
    assert lines[0].split() == ["PID", "COMM", "IP", "RADDR", "RPORT", "LADDR", "LPORT"]
    rows = [ln.split() for ln in lines[1:]]
    assert [r[1:4] + r[5:] for r in rows] == [[WORK_COMM, "4", "127.0.0.1", "127.0.0.1", str(PORT)]] * N, rows
    assert len({r[0] for r in rows}) == 1 and len({r[4] for r in rows}) == N  # one process, N client ports
    records = [r for r in map(json.loads, js.stop().splitlines()) if r["lport"] == PORT]
    assert len(records) == N and all(r["comm"] == WORK_COMM and r["timestamp"] >= 0 for r in records)
