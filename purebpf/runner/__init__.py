"""Run any compiled BPF object as a command-line tool (``purebpf run``), as
eunomia-bpf's ``ecli`` does: options generated from the object's globals,
every auto-attachable program attached, ring buffer / perf buffer records
decoded with their BTF struct and printed as a table or JSON lines, log2
histogram maps printed at an interval, and eunomia-bpf ``package.json``
packages read and written.

An application layer: built on :func:`purebpf.load`'s object model, the
events readers and BTF.  Finding and decoding an object's event records is the
object layer's job (:mod:`purebpf.elf.record_type`, :mod:`purebpf.elf.records`,
:mod:`purebpf.elf.record_readers`), so ``obj.events()`` works without this package.  Modules, one job each:

``options``     CLI options from ``.rodata``/``.data``/``.bss`` globals
``output``      table and JSON-lines printers
``hist``        log2 (and linear) histogram maps: finding, reading, printing
``package``     eunomia-bpf ``package.json``: read, build meta, write
``session``     the run loop: attach, poll, print, stop on signal or deadline
"""
