"""killsnoop: trace signals sent by kill(), tkill() and tgkill() (sigsnoop -k).

    purebpf killsnoop -x         # failed kills only
"""

from __future__ import annotations

from purebpf.tools import sigsnoop

TYPE_CHECKING = False  # argparse is imported for help and errors only (see purebpf.cli.flags)
if TYPE_CHECKING:
    import argparse

arguments = sigsnoop.arguments


def run(args: argparse.Namespace) -> int:
    return sigsnoop.run(args, kill_only=True)
