"""purebpf: the eBPF toolkit in pure Python.

Import what you need from the layer packages (``purebpf.maps``,
``purebpf.programs``, ``purebpf.links``, ``purebpf.btf``, ``purebpf.asm``,
``purebpf.events``); this top level stays import-free so ``purebpf`` starts fast.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``purebpf.load`` / ``purebpf.BPFObject`` import the object loader on first use only
    if name in ("load", "BPFObject"):
        from purebpf import object as _object
        return getattr(_object, name)
    raise AttributeError(f"module 'purebpf' has no attribute {name!r}")
