"""Attachments of programs to hooks: one module, one class per attach kind."""

from purebpf.links.link import Link

__all__ = ["Link"]
