"""Running the real agent (``python -m purebpf agent``) and a real Prometheus
on loopback, reading both, and workloads whose effect on the metrics is exact."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, *, method: str = "GET", body: bytes | None = None, headers: dict | None = None,
         timeout: float = 10) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def parse_exposition(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a text or OpenMetrics exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"unparsable exposition line: {line!r}"
        labels = frozenset((k, v.encode().decode("unicode_escape")) for k, v in _LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def wait_for(what: str, check: Callable[[], object], timeout: float = 15, every: float = 0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class AgentProcess:
    """``purebpf agent`` in a child process, with a config written to a temp dir."""

    def __init__(self, config: dict, workdir: Path) -> None:
        self.port = free_port()
        config = {"listen": f"127.0.0.1:{self.port}", **config}
        self.config_path = workdir / "agent.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "agent.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> AgentProcess:
        self.log = open(self.log_path, "w")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "purebpf", "agent", "--config", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        wait_for("the agent to serve /metrics and attach its probes", self._ready, timeout=30)
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"agent exited with {self.proc.returncode}: {self.log_path.read_text()}")
        try:
            return "serving http" in self.log_path.read_text() and http(self.url + "/metrics")[0] == 200
        except OSError:
            return False

    def metrics(self, accept: str | None = None) -> dict[tuple[str, frozenset], float]:
        code, _, body = http(self.url + "/metrics", headers={"Accept": accept} if accept else {})
        assert code == 200
        return parse_exposition(body.decode())

    def value(self, name: str, **labels: str) -> float:
        """Sum of the samples named ``name`` whose labels include ``labels`` (0 when none)."""
        want = set(labels.items())
        return sum(v for (n, ls), v in self.metrics().items() if n == name and want <= ls)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class Prometheus:
    """A real Prometheus server on loopback scraping ``targets`` every second,
    with the remote-write receiver on."""

    def __init__(self, targets: list[str], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = workdir / "prometheus"
        self.dir.mkdir()
        cfg = {"global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
               "scrape_configs": [{"job_name": "purebpf", "static_configs": [{"targets": targets}]}]}
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(cfg))
        self.proc: subprocess.Popen | None = None

    def start(self) -> Prometheus:
        self.log = open(self.dir / "log", "w")
        self.proc = subprocess.Popen([
            PROMETHEUS, f"--config.file={self.dir / 'prometheus.yml'}", f"--storage.tsdb.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver",
            "--storage.tsdb.retention.time=1h"], stdout=self.log, stderr=subprocess.STDOUT)
        wait_for("prometheus to be ready", lambda: self._get("/-/ready")[0] == 200, timeout=30)
        return self

    def _get(self, path: str) -> tuple[int, bytes]:
        try:
            code, _, body = http(self.url + path, timeout=5)
            return code, body
        except OSError:
            return 0, b""

    def query(self, expr: str) -> list[dict]:
        code, body = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        assert code == 200, body
        data = json.loads(body)
        assert data["status"] == "success", data
        return data["data"]["result"]

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        if not result:
            return None
        assert len(result) == 1, result
        return float(result[0]["value"][1])

    def wait_value(self, expr: str, value: float, timeout: float = 15) -> float:
        return wait_for(f"prometheus to show {expr} == {value}", lambda: self.scalar(expr) == value or None,
                        timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def named_binary(src: str, name: str, workdir: Path) -> str:
    """A copy of ``src`` called ``name``: its processes get ``name`` as comm, unique to the test."""
    dst = workdir / name
    shutil.copy(shutil.which(src) or src, dst)
    dst.chmod(0o755)
    return str(dst)


def unique(prefix: str) -> str:
    return (prefix + os.urandom(4).hex())[:15]


def tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="purebpf-agent-"))
