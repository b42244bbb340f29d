"""purebpf: the eBPF toolkit in pure Python.

Import what you need from the layer packages (``purebpf.maps``,
``purebpf.programs``, ``purebpf.links``, ``purebpf.btf``, ``purebpf.asm``,
``purebpf.events``); this top level stays import-free so ``purebpf`` starts fast.
"""

__version__ = "0.1.0"
