"""``import_module``: ``importlib.import_module`` for the lazy imports on a tool's start-up path.

Importing ``importlib`` itself loads ``warnings``: ~0.3 ms of a ready tool's
start-up for one function the import statement already provides.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType


def import_module(name: str) -> ModuleType:
    """The module ``name`` (absolute), imported on first use."""
    module = sys.modules.get(name)
    if module is None:
        __import__(name)
        module = sys.modules[name]
    return module
