"""The agent's HTTP endpoint: ``/metrics`` for any number of scrapers, the
control API on ``/probes``, and the CPU profile on ``/profile``.

The standard library's threading server is enough: scrapes are rare (seconds
apart) and each builds its answer from the BPF maps, so nothing is consumed
by reading and every scraper sees the same counters.
"""

from __future__ import annotations

import errno
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from purebpf.agent.exposition import OPENMETRICS_TYPE, TEXT_TYPE, wants_openmetrics
from purebpf.errors import BPFError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from purebpf.agent.agent import Agent

log = logging.getLogger("purebpf.agent")
MAX_BODY = 64 * 1024
INDEX = """purebpf agent
  GET /metrics          Prometheus text format (OpenMetrics with Accept: application/openmetrics-text)
  GET /probes           probes, their state and parameters (JSON)
  PUT /probes/NAME      {"enabled": true|false, "params": {...}}
  GET /profile          CPU profile as folded stacks (?format=svg for a flame graph)
"""


class AgentServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], agent: Agent) -> None:
        self.agent = agent
        super().__init__(address, Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """A scraper hanging up mid-answer is routine, not worth a traceback."""
        log.debug("request from %s failed", client_address, exc_info=True)


class Handler(BaseHTTPRequestHandler):
    server: AgentServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, code: int, body: str | bytes, ctype: str = "text/plain; charset=utf-8") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, code: int, value: object) -> None:
        self._send(code, json.dumps(value, indent=1) + "\n", "application/json")

    def _authorized(self) -> bool:
        token = self.server.agent.token
        if token is None:
            return True
        given = self.headers.get("Authorization", "")
        if given.startswith("Bearer ") and hmac.compare_digest(given[7:].strip(), token):
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", "Bearer")
        body = b"a bearer token is required: Authorization: Bearer <token from token_file>\n"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return False

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        agent = self.server.agent
        try:
            if url.path == "/metrics":
                om = wants_openmetrics(self.headers.get("Accept"))
                self._send(200, agent.exposition(openmetrics=om), OPENMETRICS_TYPE if om else TEXT_TYPE)
            elif url.path == "/probes":
                if self._authorized():
                    self._json(200, [s.describe() for s in agent.states.values()])
            elif url.path.startswith("/probes/"):
                if self._authorized():
                    state = agent.states.get(url.path[len("/probes/"):])
                    if state is None:
                        self._json(404, {"error": f"no probe named {url.path[8:]!r}"})
                    else:
                        self._json(200, state.describe())
            elif url.path == "/profile":
                self._profile(parse_qs(url.query).get("format", ["folded"])[0])
            elif url.path == "/":
                self._send(200, INDEX)
            else:
                self._send(404, f"not found: {url.path} (see /)\n")
        except BPFError as exc:
            self._send(500, f"{exc}\n")

    def _profile(self, fmt: str) -> None:
        folded = self.server.agent.folded_stacks()
        if folded is None:
            self._send(404, "the profile probe is not running: PUT /probes/profile {\"enabled\": true}\n")
        elif fmt == "svg":
            from purebpf.tools.flamegraph import render
            self._send(200, render(folded.splitlines(), title="purebpf agent CPU profile"), "image/svg+xml")
        elif fmt == "folded":
            self._send(200, folded)
        else:
            self._send(400, f"unknown profile format {fmt!r} (folded, svg)\n")

    def do_PUT(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        if not url.path.startswith("/probes/"):
            self._send(405 if url.path in ("/metrics", "/probes") else 404, "only /probes/NAME takes PUT\n")
            return
        if not self._authorized():
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": f"body over {MAX_BODY} bytes"})
            return
        raw = self.rfile.read(length) if length else b"{}"
        try:
            settings = json.loads(raw or b"{}")
        except ValueError as exc:
            self._json(400, {"error": f"body is not JSON: {exc}"})
            return
        try:
            state = self.server.agent.set_probe(url.path[len("/probes/"):], settings)
        except NotFoundError as exc:
            self._json(404, {"error": str(exc)})
        except InvalidInputError as exc:
            self._json(400, {"error": str(exc)})
        else:
            self._json(200, state.describe())


def start_server(agent: Agent) -> AgentServer:
    host, port = agent.config.host_port
    try:
        server = AgentServer((host, port), agent)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInputError(f"listen {agent.config.listen}: address already in use "
                                    "(another agent running? choose another port with listen:)") from None
        raise InvalidInputError(f"listen {agent.config.listen}: {exc.strerror}") from None
    thread = threading.Thread(target=server.serve_forever, name="purebpf-agent-http", daemon=True)
    thread.start()
    return server
