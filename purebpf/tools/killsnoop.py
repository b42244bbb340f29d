"""killsnoop: trace signals sent by kill(), tkill() and tgkill() (sigsnoop -k).

    purebpf killsnoop -x         # failed kills only
"""

from __future__ import annotations

import argparse

from purebpf.tools import sigsnoop

arguments = sigsnoop.arguments


def run(args: argparse.Namespace) -> int:
    return sigsnoop.run(args, kill_only=True)
