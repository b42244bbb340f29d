"""purebpf._lazy.import_module: importlib.import_module's result and errors."""

import importlib
import sys

import pytest

from purebpf._lazy import import_module


def test_import_module_returns_the_leaf_module() -> None:
    sys.modules.pop("purebpf.tools.oomkill", None)
    module = import_module("purebpf.tools.oomkill")
    assert module is sys.modules["purebpf.tools.oomkill"] is importlib.import_module("purebpf.tools.oomkill")
    assert import_module("purebpf.tools.oomkill") is module


def test_import_module_missing_names_the_module() -> None:
    with pytest.raises(ModuleNotFoundError) as exc:
        import_module("purebpf.tools.no_such_tool")
    assert exc.value.name == "purebpf.tools.no_such_tool"
