"""``purebpf agent``: the observability agent (Prometheus metrics on :9435).

    purebpf agent                          # default probes, 127.0.0.1:9435/metrics
    purebpf agent --config agent.yaml
    purebpf agent --print-default-config > agent.yaml
"""

from __future__ import annotations

import argparse
import logging
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "agent", help="observability agent exporting Prometheus metrics",
        description="Keep eBPF probes attached and serve what they see as Prometheus metrics "
                    "(GET /metrics), with a control API (GET /probes, PUT /probes/NAME) and a CPU profile "
                    "(GET /profile).")
    p.add_argument("--config", metavar="FILE", help="YAML configuration (see --print-default-config)")
    p.add_argument("--print-default-config", action="store_true", help="print the embedded default configuration")
    p.add_argument("--listen", metavar="HOST:PORT", help="override the configuration's listen address")
    p.add_argument("--list-probes", action="store_true", help="list the probes and the metrics each exports")
    p.add_argument("-v", "--verbose", action="store_true", help="log every HTTP request")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from purebpf.agent import Agent, config_yaml, default_config, load_config, split_listen
    from purebpf.agent.probes import PROBES
    if args.print_default_config:
        sys.stdout.write(config_yaml(default_config()))
        return 0
    if args.list_probes:
        print("(counters are exposed with a _total suffix; histograms as _bucket, _sum and _count)")
        for name, cls in PROBES.items():
            print(f"{name}: {cls.help}")
            for metric, text in cls.metrics.items():
                print(f"  {metric}  {text}")
        return 0
    config = load_config(args.config) if args.config else default_config()
    if args.listen:
        split_listen(args.listen)
        config.listen = args.listen
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s purebpf-agent %(levelname)s %(message)s")
    with Agent(config) as agent:
        agent.serve()
        agent.start_probes()
        running = [s.name for s in agent.states.values() if s.status == "running"]
        logging.getLogger("purebpf.agent").info("serving http://%s/metrics with probes: %s", config.listen,
                                                ", ".join(running) or "none")
        agent.run()
    return 0
