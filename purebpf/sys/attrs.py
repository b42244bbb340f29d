"""``union bpf_attr`` as one ctypes structure per command, and the info structs.

Passing a per-command structure (with its own ``sizeof``) is what the kernel
expects: it zero-checks any tail it knows but we did not send.  Field order and
names follow ``include/uapi/linux/bpf.h``; ``tests/sys/test_attrs.py`` checks
every offset against the running kernel's BTF.
"""

from __future__ import annotations

import ctypes
from ctypes import c_char, c_int32, c_uint8, c_uint16, c_uint32, c_uint64


class _Attr(ctypes.Structure):
    """Base with a readable repr; all attrs are plain C structs."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name, *_ in self._fields_)
        return f"{type(self).__name__}({fields})"


class MapCreateAttr(_Attr):
    _fields_ = [
        ("map_type", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),
        ("inner_map_fd", c_uint32),
        ("numa_node", c_uint32),
        ("map_name", c_char * 16),
        ("map_ifindex", c_uint32),
        ("btf_fd", c_uint32),
        ("btf_key_type_id", c_uint32),
        ("btf_value_type_id", c_uint32),
        ("btf_vmlinux_value_type_id", c_uint32),
        ("map_extra", c_uint64),
    ]


class MapElemAttr(_Attr):
    """MAP_LOOKUP/UPDATE/DELETE_ELEM and MAP_GET_NEXT_KEY (``value`` is ``next_key``)."""
    _fields_ = [
        ("map_fd", c_uint32),
        ("_pad", c_uint32),
        ("key", c_uint64),
        ("value", c_uint64),
        ("flags", c_uint64),
    ]


class MapBatchAttr(_Attr):
    _fields_ = [
        ("in_batch", c_uint64),
        ("out_batch", c_uint64),
        ("keys", c_uint64),
        ("values", c_uint64),
        ("count", c_uint32),
        ("map_fd", c_uint32),
        ("elem_flags", c_uint64),
        ("flags", c_uint64),
    ]


class ProgLoadAttr(_Attr):
    _fields_ = [
        ("prog_type", c_uint32),
        ("insn_cnt", c_uint32),
        ("insns", c_uint64),
        ("license", c_uint64),
        ("log_level", c_uint32),
        ("log_size", c_uint32),
        ("log_buf", c_uint64),
        ("kern_version", c_uint32),
        ("prog_flags", c_uint32),
        ("prog_name", c_char * 16),
        ("prog_ifindex", c_uint32),
        ("expected_attach_type", c_uint32),
        ("prog_btf_fd", c_uint32),
        ("func_info_rec_size", c_uint32),
        ("func_info", c_uint64),
        ("func_info_cnt", c_uint32),
        ("line_info_rec_size", c_uint32),
        ("line_info", c_uint64),
        ("line_info_cnt", c_uint32),
        ("attach_btf_id", c_uint32),
        ("attach_prog_fd", c_uint32),  # also attach_btf_obj_fd
        ("core_relo_cnt", c_uint32),
        ("fd_array", c_uint64),
        ("core_relos", c_uint64),
        ("core_relo_rec_size", c_uint32),
        ("log_true_size", c_uint32),
    ]


class ObjPinAttr(_Attr):
    """OBJ_PIN and OBJ_GET."""
    _fields_ = [
        ("pathname", c_uint64),
        ("bpf_fd", c_uint32),
        ("file_flags", c_uint32),
    ]


class ProgAttachAttr(_Attr):
    """PROG_ATTACH and PROG_DETACH (cgroup, sockmap, flow dissector...)."""
    _fields_ = [
        ("target_fd", c_uint32),
        ("attach_bpf_fd", c_uint32),
        ("attach_type", c_uint32),
        ("attach_flags", c_uint32),
        ("replace_bpf_fd", c_uint32),
    ]


class ProgTestRunAttr(_Attr):
    _fields_ = [
        ("prog_fd", c_uint32),
        ("retval", c_uint32),
        ("data_size_in", c_uint32),
        ("data_size_out", c_uint32),
        ("data_in", c_uint64),
        ("data_out", c_uint64),
        ("repeat", c_uint32),
        ("duration", c_uint32),
        ("ctx_size_in", c_uint32),
        ("ctx_size_out", c_uint32),
        ("ctx_in", c_uint64),
        ("ctx_out", c_uint64),
        ("flags", c_uint32),
        ("cpu", c_uint32),
        ("batch_size", c_uint32),
    ]


class GetIdAttr(_Attr):
    """*_GET_NEXT_ID (``start_id`` → ``next_id``) and *_GET_FD_BY_ID (``start_id`` is the id)."""
    _fields_ = [
        ("start_id", c_uint32),
        ("next_id", c_uint32),
        ("open_flags", c_uint32),
    ]


class ObjInfoAttr(_Attr):
    _fields_ = [
        ("bpf_fd", c_uint32),
        ("info_len", c_uint32),
        ("info", c_uint64),
    ]


class BtfLoadAttr(_Attr):
    _fields_ = [
        ("btf", c_uint64),
        ("btf_log_buf", c_uint64),
        ("btf_size", c_uint32),
        ("btf_log_size", c_uint32),
        ("btf_log_level", c_uint32),
        ("btf_log_true_size", c_uint32),
    ]


class RawTracepointOpenAttr(_Attr):
    _fields_ = [
        ("name", c_uint64),
        ("prog_fd", c_uint32),
        ("_pad", c_uint32),
        ("cookie", c_uint64),
    ]


class LinkCreateAttr(_Attr):
    """LINK_CREATE.  The 32 bytes after ``flags`` are a union whose meaning depends
    on ``attach_type``; the helper fields below name the common layouts:

    * tracing/LSM/iter: ``target_btf_id`` (u32 at +16), ``cookie`` (u64 at +24)
    * perf_event (kprobe, uprobe, tracepoint): ``bpf_cookie`` (u64 at +16)
    * tcx: ``relative_fd`` (u32 at +16), ``expected_revision`` (u64 at +24)
    * kprobe_multi uses :class:`LinkCreateMultiAttr`, uprobe_multi :class:`LinkCreateUprobeMultiAttr`.
    """
    _fields_ = [
        ("prog_fd", c_uint32),      # also map_fd
        ("target_fd", c_uint32),    # also target_ifindex
        ("attach_type", c_uint32),
        ("flags", c_uint32),
        ("u32_0", c_uint32),        # target_btf_id / relative_fd / iter_info (lo)
        ("u32_1", c_uint32),
        ("u64_1", c_uint64),        # cookie / expected_revision
        ("u64_2", c_uint64),
        ("u64_3", c_uint64),
        ("u64_4", c_uint64),
    ]


class LinkCreateMultiAttr(_Attr):
    """LINK_CREATE for kprobe_multi (``flags, cnt, syms, addrs, cookies``)."""
    _fields_ = [
        ("prog_fd", c_uint32),
        ("target_fd", c_uint32),
        ("attach_type", c_uint32),
        ("flags", c_uint32),
        ("multi_flags", c_uint32),
        ("cnt", c_uint32),
        ("syms", c_uint64),
        ("addrs", c_uint64),
        ("cookies", c_uint64),
    ]


class LinkCreateUprobeMultiAttr(_Attr):
    """LINK_CREATE for uprobe_multi (6.6+): one link, many offsets of one file.
    ``path`` points at the file name, ``offsets``/``ref_ctr_offsets``/``cookies`` at
    ``cnt`` u64s each (the last two optional); ``pid`` 0 means every process."""
    _fields_ = [
        ("prog_fd", c_uint32),
        ("target_fd", c_uint32),
        ("attach_type", c_uint32),
        ("flags", c_uint32),
        ("path", c_uint64),
        ("offsets", c_uint64),
        ("ref_ctr_offsets", c_uint64),
        ("cookies", c_uint64),
        ("cnt", c_uint32),
        ("multi_flags", c_uint32),
        ("pid", c_uint32),
    ]


class LinkUpdateAttr(_Attr):
    _fields_ = [
        ("link_fd", c_uint32),
        ("new_prog_fd", c_uint32),
        ("flags", c_uint32),
        ("old_prog_fd", c_uint32),
    ]


class LinkDetachAttr(_Attr):
    _fields_ = [("link_fd", c_uint32)]


class EnableStatsAttr(_Attr):
    _fields_ = [("type", c_uint32)]


class MapFdAttr(_Attr):
    """MAP_FREEZE."""
    _fields_ = [("map_fd", c_uint32)]


class IterCreateAttr(_Attr):
    _fields_ = [("link_fd", c_uint32), ("flags", c_uint32)]


class ProgQueryAttr(_Attr):
    _fields_ = [
        ("target_fd", c_uint32),
        ("attach_type", c_uint32),
        ("query_flags", c_uint32),
        ("attach_flags", c_uint32),
        ("prog_ids", c_uint64),
        ("prog_cnt", c_uint32),
        ("_pad", c_uint32),
        ("prog_attach_flags", c_uint64),
        ("link_ids", c_uint64),
        ("link_attach_flags", c_uint64),
        ("revision", c_uint64),
    ]


# ---- info structures returned by OBJ_GET_INFO_BY_FD ----------------------------

class ProgInfo(_Attr):
    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("tag", c_uint8 * 8),
        ("jited_prog_len", c_uint32),
        ("xlated_prog_len", c_uint32),
        ("jited_prog_insns", c_uint64),
        ("xlated_prog_insns", c_uint64),
        ("load_time", c_uint64),
        ("created_by_uid", c_uint32),
        ("nr_map_ids", c_uint32),
        ("map_ids", c_uint64),
        ("name", c_char * 16),
        ("ifindex", c_uint32),
        ("gpl_compatible", c_uint32),  # bit 0
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("nr_jited_ksyms", c_uint32),
        ("nr_jited_func_lens", c_uint32),
        ("jited_ksyms", c_uint64),
        ("jited_func_lens", c_uint64),
        ("btf_id", c_uint32),
        ("func_info_rec_size", c_uint32),
        ("func_info", c_uint64),
        ("nr_func_info", c_uint32),
        ("nr_line_info", c_uint32),
        ("line_info", c_uint64),
        ("jited_line_info", c_uint64),
        ("nr_jited_line_info", c_uint32),
        ("line_info_rec_size", c_uint32),
        ("jited_line_info_rec_size", c_uint32),
        ("nr_prog_tags", c_uint32),
        ("prog_tags", c_uint64),
        ("run_time_ns", c_uint64),
        ("run_cnt", c_uint64),
        ("recursion_misses", c_uint64),
        ("verified_insns", c_uint32),
        ("attach_btf_obj_id", c_uint32),
        ("attach_btf_id", c_uint32),
    ]


class MapInfo(_Attr):
    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("key_size", c_uint32),
        ("value_size", c_uint32),
        ("max_entries", c_uint32),
        ("map_flags", c_uint32),
        ("name", c_char * 16),
        ("ifindex", c_uint32),
        ("btf_vmlinux_value_type_id", c_uint32),
        ("netns_dev", c_uint64),
        ("netns_ino", c_uint64),
        ("btf_id", c_uint32),
        ("btf_key_type_id", c_uint32),
        ("btf_value_type_id", c_uint32),
        ("btf_vmlinux_id", c_uint32),
        ("map_extra", c_uint64),
    ]


class LinkInfo(_Attr):
    """``struct bpf_link_info``; ``extra`` is the per-type union, decoded by callers."""
    _fields_ = [
        ("type", c_uint32),
        ("id", c_uint32),
        ("prog_id", c_uint32),
        ("_pad", c_uint32),
        ("extra", c_uint8 * 64),
    ]


class BtfInfo(_Attr):
    _fields_ = [
        ("btf", c_uint64),
        ("btf_size", c_uint32),
        ("id", c_uint32),
        ("name", c_uint64),
        ("name_len", c_uint32),
        ("kernel_btf", c_uint32),
    ]


# ---- perf_event_open -------------------------------------------------------------

class PerfEventAttr(_Attr):
    """``struct perf_event_attr`` (PERF_ATTR_SIZE_VER8).  ``flags`` holds the
    bitfield word: see the ``PERF_FLAG_*`` bits in :mod:`purebpf.sys.perf`."""
    _fields_ = [
        ("type", c_uint32),
        ("size", c_uint32),
        ("config", c_uint64),
        ("sample_period", c_uint64),  # also sample_freq when the freq bit is set
        ("sample_type", c_uint64),
        ("read_format", c_uint64),
        ("flags", c_uint64),
        ("wakeup_events", c_uint32),  # also wakeup_watermark
        ("bp_type", c_uint32),
        ("config1", c_uint64),  # bp_addr / kprobe_func / uprobe_path
        ("config2", c_uint64),  # bp_len / kprobe_addr / probe_offset
        ("branch_sample_type", c_uint64),
        ("sample_regs_user", c_uint64),
        ("sample_stack_user", c_uint32),
        ("clockid", c_int32),
        ("sample_regs_intr", c_uint64),
        ("aux_watermark", c_uint32),
        ("sample_max_stack", c_uint16),
        ("_reserved_2", c_uint16),
        ("aux_sample_size", c_uint32),
        ("_reserved_3", c_uint32),
        ("sig_data", c_uint64),
        ("config3", c_uint64),
    ]
