"""The ``config = { key = value; ... }`` block: bpftrace's options set from the program.

Every option current bpftrace knows is accepted (an unknown one is an error, as
in bpftrace); the ones purebpf trace acts on are fields of :class:`Config`, the
others draw a warning saying they are ignored.  Keys may also be spelled as
bpftrace's environment variables (``BPFTRACE_STACK_MODE``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from purebpf.trace import ast
from purebpf.trace.location import Diagnostics
from purebpf.trace.semantic.scope import DEFAULT_MAX_STRLEN, STACK_MODES

LICENSES = ("Dual MIT/GPL", "Dual BSD/GPL", "Dual MPL/GPL", "GPL and additional rights", "GPL v2", "GPL")
MISSING_PROBES = ("error", "warn", "ignore")
# options bpftrace knows that purebpf trace does not act on
IGNORED = frozenset({
    "cache_user_symbols", "cpp_demangle", "lazy_symbolication", "max_bpf_progs", "max_cat_bytes",
    "max_map_keys", "max_probes", "max_type_res_iterations", "perf_rb_pages",
    "symbol_source", "unstable_map_decl",
    "unstable_import", "unstable_macro", "unstable_tseries", "unstable_addr", "unstable_typeinfo",
    "use_blazesym",
})
ENV_PREFIX = "BPFTRACE_"
MAX_MAX_STRLEN = 1 << 16  # a string is copied whole into events and map slots: keep it sane


@dataclass
class Config:
    print_maps_on_exit: bool = True
    missing_probes: str = "error"   # what a probe that matches nothing does: error, warn or ignore
    license: str = "GPL"
    max_strlen: int = DEFAULT_MAX_STRLEN  # characters str() keeps (BPFTRACE_MAX_STRLEN, config block)
    str_trunc_trailer: str = ".."   # printed after a string str() cut at max_strlen (BPFTRACE_STR_TRUNC_TRAILER)
    on_stack_limit: int = 32        # accepted as bpftrace does; big values go to per-CPU scratch memory anyway
    stack_mode: str = "bpftrace"    # how kstack/ustack print without a mode argument (BPFTRACE_STACK_MODE wins)
    show_debug_info: bool = True    # ustack frames show file:line and inlined calls from DWARF
    log_size: int = 0               # bytes of verifier log (BPFTRACE_LOG_SIZE); 0: as much as the log needs


def _value(item: ast.ConfigItem) -> object:
    v = item.value
    if isinstance(v, ast.Integer):
        return v.value
    if isinstance(v, ast.String):
        return v.value
    if isinstance(v, (ast.Identifier, ast.Builtin)):
        return {"true": 1, "false": 0}.get(v.name, v.name)
    return None


def read_config(items: list[ast.ConfigItem], diags: Diagnostics) -> Config:
    """The program's options; problems are reported at the ``key=value`` they are about."""
    config = Config()
    for item in items:
        key = item.key.lower()[len(ENV_PREFIX):] if item.key.startswith(ENV_PREFIX) else item.key
        value = _value(item)
        loc = item.loc.join(item.value.loc)
        if key in ("print_maps_on_exit", "show_debug_info"):
            if value not in (0, 1):
                diags.error(f"Invalid value for {key}: expected true or false", loc)
            setattr(config, key, bool(value))
        elif key == "missing_probes":
            if value not in MISSING_PROBES:
                diags.error(f"Invalid value for {key}. Found: {value}. Valid values: {', '.join(MISSING_PROBES)}",
                            loc)
            else:
                config.missing_probes = str(value)
        elif key == "license":
            if value not in LICENSES:
                diags.error(f"Invalid value for license. Found: {value}. Valid values: {', '.join(LICENSES)}", loc)
            else:
                config.license = str(value)
        elif key == "stack_mode":
            if value not in STACK_MODES:
                diags.error(f"Invalid value for {key}. Found: {value}. Valid values: {', '.join(STACK_MODES)}", loc)
            else:
                config.stack_mode = str(value)
        elif key == "log_size":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value < 1 << 30:
                diags.error(f"Invalid value for {key}: expected a size in bytes", loc)
            else:
                config.log_size = value
        elif key in ("max_strlen", "on_stack_limit"):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_MAX_STRLEN:
                diags.error(f"Invalid value for {key}: expected an integer from 0 to {MAX_MAX_STRLEN}", loc)
            elif key == "max_strlen" and value < 1:
                diags.error("Invalid value for max_strlen: a string needs at least 1 character", loc)
            else:
                setattr(config, key, value)
        elif key == "str_trunc_trailer":
            if not isinstance(value, str):
                diags.error(f"Invalid value for {key}: expected a string", loc)
            else:
                config.str_trunc_trailer = value
        elif key in IGNORED:
            diags.warning(f"config option '{item.key}' is ignored by purebpf", item.loc)
        else:
            diags.error(f"{item.key}: not a known configuration option", loc)
    _from_environment(config, diags)
    env_mode = os.environ.get("BPFTRACE_STACK_MODE")
    if env_mode in STACK_MODES:  # the environment overrides the program, as in bpftrace
        config.stack_mode = env_mode
    return config


def _from_environment(config: Config, diags: Diagnostics) -> None:
    """BPFTRACE_MAX_STRLEN, BPFTRACE_LOG_SIZE and BPFTRACE_STR_TRUNC_TRAILER: the environment overrides the
    program, as in bpftrace."""
    raw = os.environ.get("BPFTRACE_MAX_STRLEN")
    if raw is not None:
        try:
            value = int(raw, 0)
        except ValueError:
            value = -1
        if not 1 <= value <= MAX_MAX_STRLEN:
            diags.error(f"BPFTRACE_MAX_STRLEN={raw}: expected an integer from 1 to {MAX_MAX_STRLEN}", None)
        else:
            config.max_strlen = value
    raw = os.environ.get("BPFTRACE_LOG_SIZE")
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) < 1 << 30:
            diags.error(f"BPFTRACE_LOG_SIZE={raw}: expected a size in bytes", None)
        else:
            config.log_size = int(raw)
    trailer = os.environ.get("BPFTRACE_STR_TRUNC_TRAILER")
    if trailer is not None:
        config.str_trunc_trailer = trailer
