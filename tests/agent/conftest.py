from __future__ import annotations

import shutil

import pytest

from tests.agent.harness import PROMETHEUS, AgentProcess, Prometheus, tmpdir


@pytest.fixture(scope="session")
def workdir():
    d = tmpdir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def agent(workdir):
    """One agent with every default probe, shared by the tests that measure deltas."""
    (workdir / "shared").mkdir()
    proc = AgentProcess({"cardinality_limit": 5000}, workdir / "shared").start()
    yield proc
    assert proc.stop() == 0, (workdir / "shared" / "agent.log").read_text()


@pytest.fixture(scope="session")
def prometheus(agent, workdir):
    if PROMETHEUS is None:
        pytest.fail("prometheus is not installed (apt-get install prometheus; .ci/run installs it)")
    prom = Prometheus([f"127.0.0.1:{agent.port}"], workdir).start()
    yield prom
    prom.stop()
