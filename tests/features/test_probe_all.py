"""probe_all: every section filled, every "no" explained, quickly, without leaking fds."""

from __future__ import annotations

import os
import re

from purebpf import features
from purebpf.asm import R0, call, exit_, mov
from purebpf.features.helpers import helper_names
from purebpf.programs import Program, ProgramSpec
from purebpf.sys import MapType, ProgType

REASON = re.compile(r"^(E[A-Z0-9]+|ENOTSUPP|errno \d+): \S|^no '\w+' perf PMU|^vmlinux BTF")


def test_every_section_is_complete_and_every_no_has_a_reason(no_fd_leak):
    report = features.probe_all(refresh=True)
    assert set(report.program_types) == {t.name.lower() for t in ProgType if t != ProgType.UNSPEC}
    assert set(report.map_types) == {t.name.lower() for t in MapType if t != MapType.UNSPEC}
    assert set(report.attach_kinds) == set(features.ATTACH_KINDS)
    for section in (report.program_types, report.map_types, report.attach_kinds,
                    *report.helpers.values()):
        for name, feature in section.items():
            assert feature.name == name
            if feature.available:
                assert feature.reason == ""
            else:
                assert REASON.match(feature.reason), (name, feature.reason)
    limit = 60 if os.environ.get("GUEST_KERNEL") else 5  # the guest kernel runs under software emulation
    assert report.probe_seconds < limit, f"probing took {report.probe_seconds}s"


def test_basics_are_available_everywhere():
    for t in (ProgType.SOCKET_FILTER, ProgType.XDP, ProgType.SCHED_CLS, ProgType.TRACEPOINT):
        assert features.has_prog_type(t)
    for t in (MapType.HASH, MapType.ARRAY, MapType.PERF_EVENT_ARRAY, MapType.RINGBUF):
        assert features.has_map_type(t)
    assert features.has_helper(ProgType.XDP, "bpf_xdp_adjust_head")
    assert features.has_helper(ProgType.SCHED_CLS, "skb_load_bytes")  # prefix optional


def test_helper_answers_match_real_loads():
    """For a sample of helpers, "no" means a real program calling it is refused
    with the verifier's not-allowed message, and "yes" means it is not."""
    for t in (ProgType.SOCKET_FILTER, ProgType.XDP):
        report = features.probe_all()
        for name in ("bpf_xdp_adjust_head", "bpf_skb_load_bytes", "bpf_get_current_pid_tgid", "bpf_redirect"):
            spec = ProgramSpec(t, [call(name), mov(R0, 0), exit_()])
            try:
                Program(spec, log_level=1).close()
                refused = False
            except Exception as exc:  # noqa: BLE001 - we read the log below
                log = getattr(exc, "log", "")
                refused = "cannot use helper" in log or "unknown func" in log
            assert report.helpers[t.name.lower()][name].available == (not refused), (t, name)


def test_helpers_are_probed_for_representative_types_only():
    report = features.probe_all()
    probed = {t.name.lower() for t in features.REPRESENTATIVE_TYPES if features.has_prog_type(t)}
    assert set(report.helpers) == probed
    for found in report.helpers.values():
        assert set(found) == set(helper_names())
    assert not features.helper(ProgType.SOCKET_FILTER, "xdp_adjust_head").available
    assert "socket_filter programs may not call" in features.helper(ProgType.SOCKET_FILTER,
                                                                    "xdp_adjust_head").reason


def test_single_questions_without_a_report(private_cache):
    """has_* answer by probing just what they need when nothing is cached."""
    assert features.has_map_type(MapType.QUEUE)
    assert features.has_helper(ProgType.KPROBE, "get_current_pid_tgid")
    assert not private_cache.exists()  # single answers do not write the report cache


def test_lirc_without_config_is_explained():
    feature = features.prog_type(ProgType.LIRC_MODE2)
    if feature.available:
        return  # a kernel with CONFIG_BPF_LIRC_MODE2: nothing to explain
    assert feature.reason.startswith("EINVAL: this kernel does not know the program type")
