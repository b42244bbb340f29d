"""BTF: read it (lazily, indexed), render it as C or raw text, build it, load it.

    from purebpf.btf import BTF
    btf = BTF.load_kernel()
    btf.member_offset("task_struct", "real_parent")

Names are imported on first use so ``import purebpf.btf`` costs almost nothing.
"""

from __future__ import annotations

from purebpf._lazy import import_module

_EXPORTS = {
    "BTF": "purebpf.btf.spec",
    "load_kernel": "purebpf.btf.kernel",
    "load_module_btf": "purebpf.btf.kernel",
    "module_names": "purebpf.btf.kernel",
    "Kind": "purebpf.btf.kinds",
    "Linkage": "purebpf.btf.kinds",
    "IntEncoding": "purebpf.btf.kinds",
    "render_c": "purebpf.btf.format_c",
    "render_raw": "purebpf.btf.format_raw",
    "BTFBuilder": "purebpf.btf.builder",
    "load_btf": "purebpf.btf.load",
    "BTFLoadError": "purebpf.btf.load",
    "Layout": "purebpf.btf.layout",
}
_TYPES = ("Type", "Void", "Int", "Pointer", "Array", "Member", "Composite", "Struct", "Union", "EnumValue", "Enum",
          "Enum64", "Fwd", "Typedef", "Qualifier", "Volatile", "Const", "Restrict", "TypeTag", "Func", "Param",
          "FuncProto", "Var", "VarSecinfo", "Datasec", "Float", "DeclTag")
_EXPORTS.update({name: "purebpf.btf.types" for name in _TYPES})

__all__ = sorted(_EXPORTS)

def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'purebpf.btf' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
