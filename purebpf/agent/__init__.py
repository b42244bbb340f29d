"""The purebpf observability agent: eBPF probes kept attached, their maps
served as Prometheus metrics (text format and OpenMetrics), a control API,
a CPU profile, and optional Prometheus remote write.

    from purebpf.agent import Agent, default_config
    with Agent(default_config()) as agent:
        agent.serve()
        agent.start_probes()
        agent.run()          # until SIGTERM
"""

from __future__ import annotations

from purebpf.agent.agent import Agent, ProbeState
from purebpf.agent.config import (
    AgentConfig,
    Filters,
    ProbeConfig,
    RemoteWriteConfig,
    config_from_dict,
    config_yaml,
    default_config,
    load_config,
    split_listen,
)

__all__ = ["Agent", "AgentConfig", "Filters", "ProbeConfig", "ProbeState", "RemoteWriteConfig",
           "config_from_dict", "config_yaml", "default_config", "load_config", "split_listen"]
