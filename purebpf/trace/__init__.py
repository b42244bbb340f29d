"""The bpftrace language: parsed here, compiled straight to eBPF instructions.

Pipeline (one module per step): ``lexer`` -> ``parser`` -> ``ast`` tree ->
passes (probe expansion, semantic analysis, code generation) -> runtime.
"""
