"""Command-line options made from a BPF object's global variables.

``const volatile`` globals in ``.rodata`` are how libbpf tools take their
settings (``target_pid``, ``min_duration_ns``...): they are set before load and
frozen, so the verifier prunes the code they switch off.  ``.data``/``.bss``
globals take initial values the same way.  Each scalar global becomes an
option named after it (``target_pid`` -> ``--target-pid``): integers, enums (by
enumerator name or number), booleans (``--flag`` / ``--no-flag``), ``char[N]``
strings and floats.  Static variables, pointers and structs are not options.

    options = object_options(spec)
    add_to_parser(parser, options)
    args = parser.parse_args(argv)
    for opt, value in chosen(args, options):
        spec.set_initial(opt.name, value, (opt.section,))
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from purebpf.btf import types as T
from purebpf.elf.ctype import c_type_name
from purebpf.elf.spec import ObjectSpec
from purebpf.elf.values import decode_value

# sections whose variables become options, in the order --help lists them
OPTION_SECTIONS = (".rodata", ".data", ".bss")


@dataclass
class GlobalOption:
    """One global variable offered as ``--flag``."""
    name: str                 # C name
    section: str              # .rodata, .data, .bss or .rodata.foo...
    c_type: str               # as declared, qualifiers included
    kind: str                 # "int", "bool", "enum", "str", "float"
    size: int
    default: Any              # the object's initial value, decoded
    signed: bool = False
    enum_values: dict[str, int] = field(default_factory=dict)
    flag: str = ""            # --target-pid (set by add_to_parser when a name clashes)
    short: str = ""           # -p (only from package meta)
    help: str = ""            # extra words (package meta)

    def __post_init__(self) -> None:
        if not self.flag:
            self.flag = "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return "global_" + self.name

    @property
    def readonly(self) -> bool:
        return self.section.startswith(".rodata")

    def parse(self, text: str) -> Any:
        """The value of ``text`` for this variable; argparse turns the error into one line."""
        if self.kind == "int":
            return _parse_int(text, self.size, self.signed, self.c_type)
        if self.kind == "enum":
            return self._parse_enum(text)
        if self.kind == "float":
            try:
                return float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not a number ({self.c_type})") from None
        if self.kind == "bool":
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise argparse.ArgumentTypeError(f"{text!r} is not a boolean (true/false)")
        data = text.encode()
        if len(data) >= self.size:
            raise argparse.ArgumentTypeError(f"{text!r} is {len(data)} bytes; {self.c_type} holds at most "
                                             f"{self.size - 1} plus the NUL")
        return text

    def _parse_enum(self, text: str) -> int:
        values = self.enum_values
        if text in values:
            return values[text]
        by_short = _short_names(values)
        if text.lower() in by_short:
            return by_short[text.lower()]
        try:
            number = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a value of {self.c_type}: use one of {', '.join(values)} or a number") from None
        return _parse_int(str(number), self.size, self.signed, self.c_type)

    def describe(self) -> str:
        """The --help text: C declaration, where it lives, default."""
        default = self.default
        if self.kind == "enum":
            names = {v: k for k, v in self.enum_values.items()}
            default = names.get(default, default)
            choices = f"; one of {', '.join(self.enum_values)}"
        else:
            choices = ""
        extra = f"{self.help}. " if self.help else ""
        shown = default if self.kind == "enum" else _show(default)
        return f"{extra}{self.c_type} {self.name} ({self.section}{choices}); default: {shown}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_int(text: str, size: int, signed: bool, c_type: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer ({c_type})") from None
    bits = 8 * size
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"{value} does not fit {c_type} ({lo}..{hi})")
    return value


def _short_names(values: dict[str, int]) -> dict[str, int]:
    """Enumerators without their common prefix, lower case: MODE_FAST -> fast."""
    names = list(values)
    prefix = names[0] if names else ""
    for n in names[1:]:
        while not n.startswith(prefix):
            prefix = prefix[:-1]
    cut = prefix.rfind("_") + 1 if len(names) > 1 else 0
    return {n[cut:].lower(): v for n, v in values.items() if n[cut:]}


def _is_option_section(section: str) -> bool:
    return any(section == s or section.startswith(s + ".") for s in OPTION_SECTIONS) and \
        not section.startswith(".rodata.str")


def object_options(spec: ObjectSpec) -> list[GlobalOption]:
    """The options ``spec``'s globals offer, in section then address order."""
    btf = spec.btf
    if btf is None:
        return []
    out: list[GlobalOption] = []
    mdefs = sorted((m for m in spec.maps.values() if m.is_data and _is_option_section(m.section)),
                   key=lambda m: (OPTION_SECTIONS.index(_family(m.section)), m.section))
    for mdef in mdefs:
        for var in sorted(mdef.variables.values(), key=lambda v: v.offset):
            if var.static or not var.type_id:
                continue
            initial = decode_value(btf, var.type_id, mdef.data[var.offset:var.offset + var.size])
            opt = _option(spec, mdef.section, var.name, var.type_id, var.size, initial)
            if opt is not None:
                out.append(opt)
    return out


def _family(section: str) -> str:
    return next(s for s in OPTION_SECTIONS if section == s or section.startswith(s + "."))


def _option(spec: ObjectSpec, section: str, name: str, type_id: int, size: int, initial: Any) -> GlobalOption | None:
    btf = spec.btf
    t = btf.resolve(type_id)
    c_type = c_type_name(btf, type_id, qualifiers=True)
    common = dict(name=name, section=section, c_type=c_type, size=size, default=initial)
    if isinstance(t, T.Int):
        if t.is_bool or t.name in ("_Bool", "bool"):
            return GlobalOption(kind="bool", **common)
        if size in (1, 2, 4, 8):
            return GlobalOption(kind="int", signed=t.signed, **common)
        return None
    if isinstance(t, T.Enum):
        return GlobalOption(kind="enum", signed=t.signed, enum_values={v.name: v.value for v in t.values}, **common)
    if isinstance(t, T.Float) and size in (4, 8):
        return GlobalOption(kind="float", **common)
    if isinstance(t, T.Array) and isinstance(initial, str):
        return GlobalOption(kind="str", **common)
    return None


def add_to_parser(parser: argparse.ArgumentParser, options: list[GlobalOption], title: str) -> None:
    """Add one argument per option, in groups by section; a flag already taken
    by the runner's own options becomes ``--global-NAME``."""
    taken = set(parser._option_string_actions)
    groups: dict[str, Any] = {}
    for opt in options:
        if opt.flag in taken:
            opt.flag = "--global-" + opt.name.replace("_", "-")
        family = _family(opt.section)
        group = groups.get(family)
        if group is None:
            what = ("read-only settings, fixed at load" if family == ".rodata"
                    else "initial values of writable globals")
            group = groups[family] = parser.add_argument_group(f"{title} {family} globals ({what})")
        flags = ([f"-{opt.short}"] if opt.short and f"-{opt.short}" not in taken else []) + [opt.flag]
        taken.update(flags)
        if opt.kind == "bool":
            group.add_argument(*flags, dest=opt.dest, action=argparse.BooleanOptionalAction, default=None,
                               help=opt.describe())
        else:
            metavar = {"int": "N", "enum": "NAME", "float": "X", "str": "TEXT"}[opt.kind]
            group.add_argument(*flags, dest=opt.dest, type=_typed(opt), default=None, metavar=metavar,
                               help=opt.describe())


def _typed(opt: GlobalOption):
    def convert(text: str) -> Any:
        return opt.parse(text)
    convert.__name__ = opt.c_type  # argparse names the type in some messages
    return convert


def chosen(args: argparse.Namespace, options: list[GlobalOption]) -> Iterator[tuple[GlobalOption, Any]]:
    """The options given on the command line, with their parsed values."""
    for opt in options:
        value = getattr(args, opt.dest, None)
        if value is not None:
            yield opt, value
