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
from purebpf.trace.semantic.scope import STACK_MODES

LICENSES = ("Dual MIT/GPL", "Dual BSD/GPL", "Dual MPL/GPL", "GPL and additional rights", "GPL v2", "GPL")
MISSING_PROBES = ("error", "warn", "ignore")
# options bpftrace knows that purebpf trace does not act on
IGNORED = frozenset({
    "cache_user_symbols", "cpp_demangle", "lazy_symbolication", "log_size", "max_bpf_progs", "max_cat_bytes",
    "max_map_keys", "max_probes", "max_strlen", "max_type_res_iterations", "on_stack_limit", "perf_rb_pages",
    "show_debug_info", "str_trunc_trailer", "symbol_source", "unstable_map_decl",
    "unstable_import", "unstable_macro", "unstable_tseries", "unstable_addr", "unstable_typeinfo",
    "use_blazesym",
})
ENV_PREFIX = "BPFTRACE_"


@dataclass
class Config:
    print_maps_on_exit: bool = True
    missing_probes: str = "error"   # what a probe that matches nothing does: error, warn or ignore
    license: str = "GPL"
    max_strlen: int = 64            # reported by config(); strings are 64 bytes in purebpf trace
    stack_mode: str = "bpftrace"    # how kstack/ustack print without a mode argument (BPFTRACE_STACK_MODE wins)


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
        if key == "print_maps_on_exit":
            if value not in (0, 1):
                diags.error(f"Invalid value for {key}: expected true or false", loc)
            config.print_maps_on_exit = bool(value)
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
        elif key in IGNORED:
            diags.warning(f"config option '{item.key}' is ignored by purebpf", item.loc)
        else:
            diags.error(f"{item.key}: not a known configuration option", loc)
    env_mode = os.environ.get("BPFTRACE_STACK_MODE")
    if env_mode in STACK_MODES:  # the environment overrides the program, as in bpftrace
        config.stack_mode = env_mode
    return config
