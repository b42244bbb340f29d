"""Each probe's metrics move by exactly what a workload does, on /metrics and
through a real Prometheus scraping the agent."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.agent.harness import named_binary, unique, wait_for


def seen(agent, prometheus, name: str, expected: float, **labels: str) -> None:
    """``name{labels}`` reaches ``expected`` on /metrics, then in Prometheus."""
    wait_for(f"{name}{labels} == {expected} on /metrics", lambda: agent.value(name, **labels) == expected)
    sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prometheus.wait_value(f"sum({name}{{{sel}}})", expected)


def test_execs_exits_and_exit_codes(agent, prometheus, workdir):
    ok, bad = unique("pbt_ok"), unique("pbt_bad")
    ok_bin, bad_bin = named_binary("true", ok, workdir), named_binary("false", bad, workdir)
    for _ in range(5):
        subprocess.run([ok_bin], check=True)
    for _ in range(3):
        subprocess.run([bad_bin])
    seen(agent, prometheus, "purebpf_process_execs_total", 5, comm=ok)
    seen(agent, prometheus, "purebpf_process_execs_total", 3, comm=bad)
    seen(agent, prometheus, "purebpf_process_exits_total", 5, comm=ok)
    seen(agent, prometheus, "purebpf_process_exit_codes_total", 5, comm=ok, code="0")
    seen(agent, prometheus, "purebpf_process_exit_codes_total", 3, comm=bad, code="1")
    seen(agent, prometheus, "purebpf_process_lifetime_seconds_count", 5, comm=ok)


def test_failed_opens_counted_by_errno(agent, prometheus, workdir):
    name = unique("pbt_open")
    link = workdir / name
    os.symlink(sys.executable, link)  # exec through the link: comm is the link's name
    child = subprocess.Popen([str(link), "-c", """
import sys
sys.stdout.write("ready\\n"); sys.stdout.flush()
n = int(sys.stdin.readline())
for i in range(n):
    try:
        open("/nonexistent-purebpf-agent/file")
    except FileNotFoundError:
        pass
sys.stdout.write("done\\n"); sys.stdout.flush()
sys.stdin.readline()
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        labels = {"comm": name, "syscall": "openat", "errno": "ENOENT"}
        # python's start-up already failed some opens: wait until that count is stable in Prometheus
        wait_for("start-up opens on /metrics", lambda: agent.value("purebpf_syscall_errors_total", **labels) > 0)
        before = agent.value("purebpf_syscall_errors_total", **labels)
        calls_before = agent.value("purebpf_syscalls_total", comm=name, syscall="openat")
        seen(agent, prometheus, "purebpf_syscall_errors_total", before, **labels)
        child.stdin.write("37\n")
        child.stdin.flush()
        assert child.stdout.readline() == "done\n"
        seen(agent, prometheus, "purebpf_syscall_errors_total", before + 37, **labels)
        seen(agent, prometheus, "purebpf_syscalls_total", calls_before + 37, comm=name, syscall="openat")
        seen(agent, prometheus, "purebpf_syscall_latency_seconds_count", calls_before + 37, comm=name,
             syscall="openat")
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def test_tcp_connection_through_its_states(agent, prometheus):
    import socket

    from tests.agent.harness import http
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    # only this port: the host's other connections (the scrapes themselves) stay out of the counts
    code, _, body = http(f"{agent.url}/probes/tcp", method="PUT", body=f'{{"params": {{"ports": [{port}]}}}}'.encode())
    assert code == 200, body
    try:
        # the probe restarted with fresh maps and carries its earlier totals: count from here
        base = {(dict(ls)["from"], dict(ls)["to"]): v for (n, ls), v in agent.metrics().items()
                if n == "purebpf_tcp_state_transitions_total"}
        srv.listen()
        for _ in range(3):
            c = socket.create_connection(("127.0.0.1", port))
            s, _ = srv.accept()
            c.sendall(b"x" * 100)
            assert s.recv(100)
            c.close()
            s.close()
        srv.close()
        p = str(port)
        seen(agent, prometheus, "purebpf_tcp_connections_opened_total", 3, port=p, direction="active")
        seen(agent, prometheus, "purebpf_tcp_connections_opened_total", 3, port=p, direction="passive")
        seen(agent, prometheus, "purebpf_tcp_connections_closed_total", 3, port=p, direction="active")
        seen(agent, prometheus, "purebpf_tcp_connections_closed_total", 3, port=p, direction="passive")
        seen(agent, prometheus, "purebpf_tcp_connection_duration_seconds_count", 3, port=p, direction="passive")
        expected = {("CLOSE", "LISTEN"): 1, ("LISTEN", "CLOSE"): 1, ("CLOSE", "SYN_SENT"): 3,
                    ("SYN_SENT", "ESTABLISHED"): 3, ("ESTABLISHED", "FIN_WAIT1"): 3, ("FIN_WAIT1", "FIN_WAIT2"): 3,
                    ("FIN_WAIT2", "CLOSE"): 3, ("LISTEN", "SYN_RECV"): 3, ("SYN_RECV", "ESTABLISHED"): 3,
                    ("ESTABLISHED", "CLOSE_WAIT"): 3, ("CLOSE_WAIT", "LAST_ACK"): 3, ("LAST_ACK", "CLOSE"): 3}
        for (a, b), n in expected.items():
            seen(agent, prometheus, "purebpf_tcp_state_transitions_total", base.get((a, b), 0) + n,
                 **{"from": a, "to": b})
        total = sum(v for (n, ls), v in agent.metrics().items() if n == "purebpf_tcp_state_transitions_total")
        assert total == sum(base.values()) + sum(expected.values())
    finally:
        srv.close()
        http(f"{agent.url}/probes/tcp", method="PUT", body=b'{"params": {"ports": []}}')
