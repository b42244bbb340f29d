"""Addresses to names and back, for stacks and ``ksym``/``usym``: kernel
symbols from /proc/kallsyms, user-space symbols from the ELF files a process
maps.  Shared by the tracer, the tools and the agent."""

from purebpf.symbols.kernel import KernelSymbols, kernel_symbols
from purebpf.symbols.user import UNKNOWN, ElfFunctions, ProcessSymbols, Symbolizer, elf_functions

__all__ = ["UNKNOWN", "ElfFunctions", "KernelSymbols", "ProcessSymbols", "Symbolizer", "elf_functions",
           "kernel_symbols"]
