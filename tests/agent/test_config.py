"""Configuration: the default round-trips, bad input is one clear line and a
non-zero exit, before anything is attached."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import yaml

from purebpf.agent import config_from_dict, config_yaml, default_config, load_config
from purebpf.agent.probes import PROBES
from purebpf.errors import InvalidInputError
from tests.agent.harness import ROOT, free_port


def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "purebpf", "agent", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_print_default_config_reads_back_to_the_default(tmp_path):
    r = cli("--print-default-config")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "agent.yaml"
    path.write_text(r.stdout)
    assert load_config(path) == default_config()
    data = yaml.safe_load(r.stdout)
    assert data["listen"] == "127.0.0.1:9435"
    assert set(data["probes"]) == set(PROBES) == {"syscalls", "process", "sched", "block", "tcp", "memory",
                                                  "profile"}
    assert config_yaml(default_config()) == r.stdout


@pytest.mark.parametrize("text, message", [
    ("probes:\n  nosuch: true\n", "unknown probe 'nosuch'"),
    ("probes: {syscalls: {latncy: true}}\n", "probes.syscalls: unknown parameter 'latncy'"),
    ("probes: {syscalls: {latency: 3}}\n", "probes.syscalls.latency: expected bool"),
    ("listen: [oops\n", "invalid YAML at line 2, column 1: expected ',' or ']'"),
    ("listen: nowhere\n", "listen: 'nowhere' is not HOST:PORT"),
    ("filters: {users: [1]}\n", "filters: unknown key 'users'"),
    ("colour: blue\n", "config: unknown key 'colour'"),
    ("listen: 0.0.0.0:9999\n", "is not loopback: set token_file"),
    ("probes: {tcp: {ports: [70000]}}\n", "probes.tcp.ports: expected a list of port numbers"),
    ("filters: {cgroups: [no-such-container-id]}\n", "filters.cgroups: no cgroup v2 directory or container id"),
])
def test_bad_config_is_one_line_and_exit_1(tmp_path, text, message):
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    r = cli("--config", str(path))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
    assert r.stderr.startswith("purebpf: error: ")


def test_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = cli("--listen", f"127.0.0.1:{port}")
    assert r.returncode == 1
    assert r.stderr.strip() == (f"purebpf: error: listen 127.0.0.1:{port}: address already in use "
                                "(another agent running? choose another port with listen:)")


def test_missing_config_file(tmp_path):
    r = cli("--config", str(tmp_path / "none.yaml"))
    assert r.returncode == 1 and "No such file or directory" in r.stderr


def test_probe_settings_merge():
    cfg = config_from_dict({"probes": {"tcp": {"ports": [80, 443]}, "profile": False}, "filters": {"comms": "nginx"}})
    assert cfg.probes["tcp"].params == {"ports": [80, 443]} and cfg.probes["tcp"].enabled
    assert not cfg.probes["profile"].enabled
    assert cfg.filters.comms == ["nginx"]
    with pytest.raises(InvalidInputError, match="cardinality_limit: expected int"):
        config_from_dict({"cardinality_limit": "many"})
    assert free_port() > 0
