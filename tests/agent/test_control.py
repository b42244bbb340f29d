"""The HTTP surface: exposition formats checked by promtool, the control API
and its token, a probe that cannot attach, the cardinality cap, remote write
into Prometheus, and nothing left in the kernel after SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.agent.harness import AgentProcess, http, named_binary, unique, wait_for
from tests.agent.test_exact import seen

ALL_OFF = {name: False for name in ("syscalls", "process", "sched", "block", "tcp", "memory", "profile")}


def test_promtool_accepts_the_text_format(agent):
    code, headers, body = http(agent.url + "/metrics")
    assert code == 200 and headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr
    text = body.decode()
    for line in ("# TYPE purebpf_syscalls_total counter", "# TYPE purebpf_syscall_latency_seconds histogram",
                 "# TYPE process_resident_memory_bytes gauge", "# HELP purebpf_agent_lost_events_total "):
        assert line in text
    assert 'le="+Inf"' in text and "purebpf_syscall_latency_seconds_sum{" in text


def test_openmetrics_on_request(agent):
    code, headers, body = http(agent.url + "/metrics",
                               headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"})
    assert code == 200 and headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = body.decode()
    assert text.endswith("# EOF\n")
    assert "# TYPE purebpf_syscalls counter" in text and "\npurebpf_syscalls_total{" in text


def test_own_cost_metrics(agent):
    assert agent.value("process_cpu_seconds_total") > 0
    assert 10 << 20 < agent.value("process_resident_memory_bytes") < 200 << 20
    assert agent.value("purebpf_agent_probe_up", probe="syscalls", status="running") == 1
    assert agent.value("purebpf_agent_map_capacity", probe="syscalls", map="stats") > 0


def test_host_labels_on_every_series(agent):
    import socket
    m = agent.metrics()
    assert all(dict(ls).get("hostname") == socket.gethostname() for _, ls in m)
    machine_id = open("/etc/machine-id").read().strip()
    assert all(dict(ls).get("machine_id") == machine_id for _, ls in m)


def test_control_api_turns_probes_off_and_on(workdir):
    a = AgentProcess({"probes": {**ALL_OFF, "process": True}}, mkdir(workdir, "control")).start()
    try:
        code, _, body = http(a.url + "/probes")
        states = {p["name"]: p for p in json.loads(body)}
        assert code == 200 and states["process"]["status"] == "running" and states["tcp"]["status"] == "off"
        code, _, body = http(a.url + "/probes/process", method="PUT", body=b'{"enabled": false}')
        assert code == 200 and json.loads(body)["status"] == "off"
        name = unique("pbt_ctl")
        binary = named_binary("true", name, mkdir(workdir, "control-bin"))
        subprocess.run([binary], check=True)
        assert a.value("purebpf_process_execs_total", comm=name) == 0
        code, _, body = http(a.url + "/probes/process", method="PUT", body=b'{"enabled": true}')
        assert code == 200 and json.loads(body)["status"] == "running"
        subprocess.run([binary], check=True)
        wait_for("the exec after turning on", lambda: a.value("purebpf_process_execs_total", comm=name) == 1)
        for path, body_, want in [("/probes/nosuch", b"{}", 404), ("/probes/tcp", b"not json", 400),
                                  ("/probes/tcp", b'{"params": {"port": 1}}', 400),
                                  ("/probes/tcp", b'{"enabled": true, "params": {"ports": ["http"]}}', 400),
                                  ("/probes/tcp", b'{"colour": 1}', 400)]:
            code, _, body = http(a.url + path, method="PUT", body=body_)
            assert code == want, body
            assert "error" in json.loads(body)
    finally:
        assert a.stop() == 0


def mkdir(base, name):
    d = base / name
    d.mkdir(exist_ok=True)
    return d


def test_token_required_beyond_loopback(workdir):
    d = mkdir(workdir, "token")
    (d / "token").write_text("s3cret\n")
    a = AgentProcess({"listen": "0.0.0.0:0", "token_file": str(d / "token"), "probes": ALL_OFF}, d)
    a.config_path.write_text(a.config_path.read_text().replace("0.0.0.0:0", f"0.0.0.0:{a.port}"))
    a.start()
    try:
        assert http(a.url + "/probes")[0] == 401
        assert http(a.url + "/probes/tcp", method="PUT", body=b'{"enabled": true}')[0] == 401
        assert http(a.url + "/probes", headers={"Authorization": "Bearer wrong"})[0] == 401
        code, _, body = http(a.url + "/probes", headers={"Authorization": "Bearer s3cret"})
        assert code == 200 and len(json.loads(body)) == 7
        assert http(a.url + "/metrics")[0] == 200  # scrapes need no token
    finally:
        assert a.stop() == 0


def test_probe_that_cannot_attach_is_reported_and_others_run(workdir):
    # a sampling frequency above kernel.perf_event_max_sample_rate: perf_event_open refuses it
    d = mkdir(workdir, "failing")
    a = AgentProcess({"probes": {**ALL_OFF, "process": True, "profile": {"frequency": 10_000_000}}}, d).start()
    try:
        states = {p["name"]: p for p in json.loads(http(a.url + "/probes")[2])}
        assert states["profile"]["status"] == "failed" and states["profile"]["error"]
        assert states["process"]["status"] == "running"
        assert "probe profile cannot attach" in a.log_path.read_text()
        assert a.value("purebpf_agent_probe_up", probe="profile", status="failed") == 0
        assert http(a.url + "/profile")[0] == 404
        name = unique("pbt_fail")
        subprocess.run([named_binary("true", name, d)], check=True)
        wait_for("execs still counted", lambda: a.value("purebpf_process_execs_total", comm=name) == 1)
    finally:
        assert a.stop() == 0


def test_cardinality_cap_collapses_into_other(workdir):
    d = mkdir(workdir, "cap")
    names = [unique(f"pbt_c{i}") for i in range(5)]
    a = AgentProcess({"cardinality_limit": 3, "filters": {"comms": names},
                      "probes": {**ALL_OFF, "process": True}}, d).start()
    try:
        for i, n in enumerate(names):
            binary = named_binary("true", n, d)
            for _ in range(i + 1):
                subprocess.run([binary], check=True)
        wait_for("15 execs", lambda: a.value("purebpf_process_execs_total") == 15)
        series = {dict(ls)["comm"]: v for (n, ls), v in a.metrics().items() if n == "purebpf_process_execs_total"}
        assert len(series) == 3 and "other" in series and sum(series.values()) == 15
        assert a.value("purebpf_agent_collapsed_series_total", metric="purebpf_process_execs") == 3
    finally:
        assert a.stop() == 0


def bpf_ids(kind: str) -> set[int]:
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True, check=True).stdout
    return {p["id"] for p in json.loads(out or "[]")}


def test_sigterm_detaches_everything(workdir):
    if shutil.which("bpftool") is None:
        pytest.fail("bpftool is not installed")
    before_progs, before_maps = bpf_ids("prog"), bpf_ids("map")
    a = AgentProcess({}, mkdir(workdir, "sigterm")).start()
    during = bpf_ids("prog") - before_progs
    during_maps = bpf_ids("map") - before_maps  # ids are never reused: maps others create later do not matter
    assert len(during) >= 15  # every default probe's programs
    assert a.stop() == 0
    assert "all probes detached" in a.log_path.read_text()
    assert not (bpf_ids("prog") & during)
    assert not (bpf_ids("map") & during_maps)


def test_remote_write_into_prometheus(workdir, prometheus):
    d = mkdir(workdir, "remote")
    name = unique("pbt_rw")
    a = AgentProcess({"probes": {**ALL_OFF, "process": True}, "labels": {"source": "remote_write"},
                      "remote_write": {"url": f"{prometheus.url}/api/v1/write", "interval": 1}}, d).start()
    try:
        binary = named_binary("true", name, d)
        for _ in range(4):
            subprocess.run([binary], check=True)
        # only the remote-written series carry source="remote_write": Prometheus does not scrape this agent
        prometheus.wait_value(f'purebpf_process_execs_total{{comm="{name}",source="remote_write"}}', 4)
        prometheus.wait_value(f'purebpf_process_lifetime_seconds_count{{comm="{name}",source="remote_write"}}', 4)
        assert prometheus.scalar(f'count(purebpf_process_lifetime_seconds_bucket{{comm="{name}"}})') > 5
        assert a.value("purebpf_agent_remote_write_failures_total") == 0
    finally:
        assert a.stop() == 0


def test_cgroup_and_pid_filters(workdir):
    from purebpf.agent.filters import cgroup2_root
    d = mkdir(workdir, "cgroup")
    cg = cgroup2_root() / unique("pbt_cg")
    cg.mkdir()
    try:
        a = AgentProcess({"filters": {"cgroups": [str(cg)]}, "probes": {**ALL_OFF, "process": True}}, d).start()
        try:
            name = unique("pbt_cgx")
            binary = named_binary("true", name, d)
            for _ in range(3):
                subprocess.run(["sh", "-c", f"echo $$ > {cg}/cgroup.procs && exec {binary}"], check=True)
            for _ in range(2):
                subprocess.run([binary], check=True)  # outside the cgroup: not counted
            wait_for("3 execs in the cgroup", lambda: a.value("purebpf_process_execs_total", comm=name) == 3)
            subprocess.run([binary], check=True)
            assert a.value("purebpf_process_execs_total", comm=name) == 3
        finally:
            assert a.stop() == 0
    finally:
        cg.rmdir()


def test_cgroup_and_container_labels(agent, prometheus, workdir):
    """A workload in a cgroup named as Docker's systemd driver names a container's:
    its series carry the cgroup path and the container id, in Prometheus too."""
    from purebpf.agent.filters import cgroup2_root
    d = mkdir(workdir, "labels")
    cid = os.urandom(32).hex()
    parent = cgroup2_root() / (unique("pbt_sl") + ".slice")
    cg = parent / f"docker-{cid}.scope"
    cg.mkdir(parents=True)
    try:
        name = unique("pbt_ctr")
        binary = named_binary("true", name, d)
        for _ in range(3):
            subprocess.run(["sh", "-c", f"echo $$ > {cg}/cgroup.procs && exec {binary}"], check=True)
        path = "/" + str(cg.relative_to(cgroup2_root()))
        labels = {"comm": name, "cgroup": path, "container": cid}
        seen(agent, prometheus, "purebpf_process_execs_total", 3, **labels)
        seen(agent, prometheus, "purebpf_process_exits_total", 3, **labels)
        wait_for("syscalls of the container", lambda: agent.value("purebpf_syscalls_total", **labels) > 0)
        series = [dict(ls) for (n, ls), _ in agent.metrics().items() if dict(ls).get("comm") == name
                  and n.startswith(("purebpf_syscall", "purebpf_process"))]
        assert series and all(s["container"] == cid and s["cgroup"] == path for s in series), series
        calls = agent.value("purebpf_syscalls_total", **labels)
        prometheus.wait_value(f'sum(purebpf_syscalls_total{{container="{cid}"}})', calls)
    finally:
        cg.rmdir()
        parent.rmdir()


def test_reconfigured_probe_keeps_its_counters(workdir):
    """PUT /probes/NAME restarts the probe with fresh maps; its counters continue from their totals."""
    d = mkdir(workdir, "carry")
    a = AgentProcess({"probes": {**ALL_OFF, "process": True, "syscalls": True}, "map_entries": 1500}, d).start()
    try:
        name = unique("pbt_keep")
        binary = named_binary("true", name, d)
        for _ in range(3):
            subprocess.run([binary], check=True)
        wait_for("3 execs", lambda: a.value("purebpf_process_execs_total", comm=name) == 3)
        wait_for("their syscalls", lambda: a.value("purebpf_syscalls_total", comm=name) > 0)
        calls = a.value("purebpf_syscalls_total", comm=name)
        assert a.value("purebpf_agent_map_capacity", probe="process", map="@exec") == 1500
        assert a.value("purebpf_agent_map_capacity", probe="syscalls", map="stats") == 1500
        for probe, body in (("process", b'{"enabled": false}'), ("process", b'{"enabled": true}'),
                            ("syscalls", b'{"params": {"latency": false}}')):
            code, _, out = http(f"{a.url}/probes/{probe}", method="PUT", body=body)
            assert code == 200, out
        assert a.value("purebpf_process_execs_total", comm=name) == 3
        assert a.value("purebpf_process_lifetime_seconds_count", comm=name) == 3
        assert a.value("purebpf_syscalls_total", comm=name) == calls
        for _ in range(2):
            subprocess.run([binary], check=True)
        wait_for("5 execs", lambda: a.value("purebpf_process_execs_total", comm=name) == 5)
        wait_for("more syscalls", lambda: a.value("purebpf_syscalls_total", comm=name) > calls)
    finally:
        assert a.stop() == 0
