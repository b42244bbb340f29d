"""tcpretrans sees the retransmitted SYN of a connection a full listener dropped."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.tools.harness import one_line_error, run_purebpf, settle, start_purebpf

PORT = 47124
# A listener with a full accept queue drops the next SYN: the kernel resends it after 1 s.
DROPPED_SYN = f"""
import socket, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", {PORT})); srv.listen(0)
first = socket.create_connection(("127.0.0.1", {PORT})); time.sleep(0.05)
late = socket.socket(); late.setblocking(False)
try:
    late.connect(("127.0.0.1", {PORT}))
except BlockingIOError:
    pass
print(late.getsockname()[1], flush=True)
time.sleep(1.4)
"""



def test_sees_the_retransmitted_syn(netns):
    text, counts = start_purebpf("tcpretrans", "-s"), start_purebpf("tcpretrans", "-c", "-j")
    res = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", DROPPED_SYN], capture_output=True,
                         text=True, check=True, timeout=30)
    port = int(res.stdout)
    settle()
    lines = text.stop().splitlines()
    assert lines[0].split() == ["TIME", "PID", "IP", "LADDR:LPORT", "T>", "RADDR:RPORT", "SEQ", "STATE"]
    rows = [ln.split() for ln in lines[1:] if f"127.0.0.1:{port} " in ln]
    assert len(rows) == 1, lines
    assert rows[0][2:5] == ["4", f"127.0.0.1:{port}", "R>"] and rows[0][5:] == [f"127.0.0.1:{PORT}", rows[0][6],
                                                                                  "SYN_SENT"]
    assert int(rows[0][6]) > 0
    records = [json.loads(x) for x in counts.stop().splitlines()]
    assert {"laddr": f"127.0.0.1:{port}", "raddr": f"127.0.0.1:{PORT}", "retransmits": 1} in records


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("tcpretrans", "-d", "x"))
