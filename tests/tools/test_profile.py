"""profile samples the workload's stack: folded lines and an SVG flame graph."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

from tests.tools.harness import one_line_error, run_purebpf


def test_folded_stacks_and_flame_graph(work, tmp_path):
    spin = subprocess.Popen([work, "spin", "2500"])
    try:
        svg = tmp_path / "flame.svg"
        res = run_purebpf("profile", "-p", str(spin.pid), "-F", "99", "-f", "-U", "--svg", str(svg), "1")
    finally:
        spin.wait(timeout=30)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    spinning = [ln for ln in lines if ln.startswith("pbtoolwork;") and ";main;spin_here " in ln]
    total = sum(int(ln.rsplit(" ", 1)[1]) for ln in lines)
    assert spinning and sum(int(ln.rsplit(" ", 1)[1]) for ln in spinning) >= 0.8 * total >= 40, lines
    tree = ET.parse(svg)
    titles = [t.text for t in tree.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith("spin_here (") for t in titles) and any(t.startswith("all (") for t in titles)


def test_default_output_and_json(work):
    spin = subprocess.Popen([work, "spin", "1500"])
    try:
        res = run_purebpf("profile", "-p", str(spin.pid), "1")
        js = run_purebpf("profile", "-j", "-p", str(spin.pid), "-K", "1")
    finally:
        spin.wait(timeout=30)
    assert res.stdout.startswith(f"Sampling at 49 Hertz of PID {spin.pid} by user + kernel stack for 1 secs.")
    assert "    spin_here\n    main\n" in res.stdout and f"pbtoolwork ({spin.pid})" in res.stdout
    assert js.returncode == 0 and all('"user_stack": []' in ln for ln in js.stdout.splitlines())


def test_bad_input_is_one_line():
    one_line_error(run_purebpf("profile", "-U", "-K", "1"))
    one_line_error(run_purebpf("profile", "-F", "0"))
    one_line_error(run_purebpf("profile", "-p", "999999"))
