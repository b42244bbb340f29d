"""Agent configuration: dataclasses with the embedded defaults, parsed from
YAML and validated up front so a bad file fails before anything is loaded.

Every error is one line naming the key and what would be accepted.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purebpf.errors import InvalidInputError

DEFAULT_LISTEN = "127.0.0.1:9435"


@dataclass
class Filters:
    """Which processes to watch; empty lists watch everything.  A process must
    match every non-empty list (and any entry within one)."""
    pids: list[int] = field(default_factory=list)
    comms: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)  # cgroup v2 paths or container ids


@dataclass
class ProbeConfig:
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RemoteWriteConfig:
    url: str
    interval: float = 15.0
    timeout: float = 5.0


@dataclass
class AgentConfig:
    listen: str = DEFAULT_LISTEN
    token_file: str | None = None
    cardinality_limit: int = 2000
    map_entries: int = 0  # 0: derived from cardinality_limit (see map_capacity)
    host_labels: bool = True
    cgroup_labels: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    filters: Filters = field(default_factory=Filters)
    probes: dict[str, ProbeConfig] = field(default_factory=dict)
    remote_write: RemoteWriteConfig | None = None

    @property
    def map_capacity(self) -> int:
        """Entries of each probe map keyed by labels: ``map_entries``, or by default
        room for four times the series the cap lets through (several keys can fold
        into one series, e.g. syscall numbers into ``other``), at least 4096."""
        return self.map_entries or max(4096, 4 * self.cardinality_limit)

    @property
    def host_port(self) -> tuple[str, int]:
        return split_listen(self.listen)

    @property
    def loopback_only(self) -> bool:
        host = self.host_port[0]
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidInputError(f"listen: {listen!r} is not HOST:PORT (for example {DEFAULT_LISTEN})")
    return host.strip("[]") or "0.0.0.0", int(port)


def default_config() -> AgentConfig:
    from purebpf.agent.probes import PROBES
    return AgentConfig(probes={name: ProbeConfig(cls.default_enabled, dict(cls.params))
                               for name, cls in PROBES.items()})


# -- parsing ----------------------------------------------------------------------

_TOP_KEYS = {"listen", "token_file", "cardinality_limit", "map_entries", "host_labels", "cgroup_labels", "labels",
             "filters", "probes", "remote_write"}


def _check_keys(where: str, data: dict, allowed: set[str]) -> None:
    for key in data:
        if key not in allowed:
            raise InvalidInputError(f"{where}: unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})")


def _typed(where: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InvalidInputError(f"{where}: expected {names}, got {value!r}")
    return value


def _list(where: str, value: Any, kind: type) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    return [_typed(f"{where}[{i}]", v, kind) for i, v in enumerate(value)]


def probe_params(name: str, defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Validate a probe's parameters against its defaults (same names, same types)."""
    out = dict(defaults)
    for key, value in given.items():
        if key not in defaults:
            allowed = ", ".join(sorted(defaults)) or "none"
            raise InvalidInputError(f"probes.{name}: unknown parameter {key!r} (parameters: {allowed})")
        default = defaults[key]
        out[key] = _typed(f"probes.{name}.{key}", value, type(default)) if default is not None else value
    return out


def config_from_dict(data: Any) -> AgentConfig:
    from purebpf.agent.probes import PROBES
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInputError("config: the top level must be a mapping of keys (listen, probes, ...)")
    _check_keys("config", data, _TOP_KEYS)
    cfg = default_config()
    if "listen" in data:
        cfg.listen = _typed("listen", data["listen"], str)
        split_listen(cfg.listen)
    if data.get("token_file") is not None:
        cfg.token_file = _typed("token_file", data["token_file"], str)
    if "cardinality_limit" in data:
        cfg.cardinality_limit = _typed("cardinality_limit", data["cardinality_limit"], int)
    if "map_entries" in data:
        cfg.map_entries = _typed("map_entries", data["map_entries"], int)
        if not 0 <= cfg.map_entries <= 1 << 24:
            raise InvalidInputError(f"map_entries: {cfg.map_entries} is out of range (0 for automatic, "
                                    f"or 1 to {1 << 24})")
    if "host_labels" in data:
        cfg.host_labels = _typed("host_labels", data["host_labels"], bool)
    if "cgroup_labels" in data:
        cfg.cgroup_labels = _typed("cgroup_labels", data["cgroup_labels"], bool)
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        raise InvalidInputError("labels: expected a mapping of label name to value")
    cfg.labels = {str(k): str(v) for k, v in labels.items()}
    filters = data.get("filters") or {}
    if not isinstance(filters, dict):
        raise InvalidInputError("filters: expected a mapping with pids, comms and/or cgroups")
    _check_keys("filters", filters, {"pids", "comms", "cgroups"})
    cfg.filters = Filters(_list("filters.pids", filters.get("pids"), int),
                          _list("filters.comms", filters.get("comms"), str),
                          _list("filters.cgroups", filters.get("cgroups"), str))
    probes = data.get("probes") or {}
    if not isinstance(probes, dict):
        raise InvalidInputError("probes: expected a mapping of probe name to settings")
    for name, settings in probes.items():
        if name not in PROBES:
            raise InvalidInputError(f"probes: unknown probe {name!r} (probes: {', '.join(PROBES)})")
        cfg.probes[name] = parse_probe(name, settings, cfg.probes[name])
    rw = data.get("remote_write")
    if rw is not None:
        if not isinstance(rw, dict) or "url" not in rw:
            raise InvalidInputError("remote_write: expected a mapping with at least 'url'")
        _check_keys("remote_write", rw, {"url", "interval", "timeout"})
        cfg.remote_write = RemoteWriteConfig(_typed("remote_write.url", rw["url"], str),
                                             _typed("remote_write.interval", rw.get("interval", 15.0), float),
                                             _typed("remote_write.timeout", rw.get("timeout", 5.0), float))
    return cfg


def parse_probe(name: str, settings: Any, base: ProbeConfig) -> ProbeConfig:
    """A probe's settings: a bool (on/off) or a mapping with ``enabled`` and parameters."""
    from purebpf.agent.probes import PROBES
    if isinstance(settings, bool):
        return ProbeConfig(settings, dict(base.params))
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise InvalidInputError(f"probes.{name}: expected true/false or a mapping (enabled: ..., parameters)")
    settings = dict(settings)
    enabled = _typed(f"probes.{name}.enabled", settings.pop("enabled", base.enabled), bool)
    params = probe_params(name, PROBES[name].params, {**base.params, **settings})
    return ProbeConfig(enabled, params)


def load_config(path: str | Path) -> AgentConfig:
    try:
        import yaml
    except ImportError:
        raise InvalidInputError("reading --config needs PyYAML: pip install 'purebpf[agent]'") from None
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InvalidInputError(f"config {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(f"config {path}: invalid YAML{where}: {problem}") from None
    return config_from_dict(data)


# -- the default configuration as YAML ----------------------------------------------

def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_yaml(cfg: AgentConfig) -> str:
    """YAML that :func:`load_config` reads back to the same configuration."""
    from purebpf.agent.probes import PROBES
    lines = [
        "# purebpf agent configuration (purebpf agent --print-default-config)",
        f"listen: {_scalar(cfg.listen)}",
        "# bearer token file, required when listen is not a loopback address",
        f"token_file: {_scalar(cfg.token_file)}",
        "# series per metric beyond which new label values collapse into 'other'",
        f"cardinality_limit: {cfg.cardinality_limit}",
        "# entries of each BPF map keyed by labels (0: 4 x cardinality_limit, at least 4096); a full map",
        "# takes no new keys (see purebpf_agent_map_entries / _capacity; the syscalls probe counts such calls",
        "# in purebpf_agent_lost_events_total)",
        f"map_entries: {cfg.map_entries}",
        "# add hostname and machine_id labels to every series",
        f"host_labels: {_scalar(cfg.host_labels)}",
        "# add cgroup (v2 path) and container (id) labels to per-process series: one series per",
        "# process name and cgroup (more series on container hosts; the cardinality cap applies)",
        f"cgroup_labels: {_scalar(cfg.cgroup_labels)}",
        "labels: {" + ", ".join(f"{k}: {_scalar(v)}" for k, v in cfg.labels.items()) + "}",
        "# watch only these processes (empty: all); cgroups are cgroup v2 paths or container ids",
        "filters:",
        f"  pids: [{', '.join(str(p) for p in cfg.filters.pids)}]",
        f"  comms: [{', '.join(_scalar(c) for c in cfg.filters.comms)}]",
        f"  cgroups: [{', '.join(_scalar(c) for c in cfg.filters.cgroups)}]",
        "probes:",
    ]
    for name, pc in cfg.probes.items():
        lines.append(f"  # {PROBES[name].help}")
        lines.append(f"  {name}:")
        lines.append(f"    enabled: {_scalar(pc.enabled)}")
        for k, v in pc.params.items():
            lines.append(f"    {k}: {_scalar(v)}")
    if cfg.remote_write is None:
        lines += ["# push to a Prometheus remote-write endpoint:",
                  "# remote_write: {url: \"http://127.0.0.1:9090/api/v1/write\", interval: 15}"]
    else:
        rw = cfg.remote_write
        lines.append(f"remote_write: {{url: {_scalar(rw.url)}, interval: {rw.interval}, timeout: {rw.timeout}}}")
    return "\n".join(lines) + "\n"
