"""The lazy top-level package: every public name resolves, ``dir`` lists them, and the type stubs match."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import l2vkit

pytestmark = pytest.mark.unit
STUBS = Path(l2vkit.__file__).with_name("__init__.pyi")


def test_every_public_name_resolves_and_is_listed():
    for name in l2vkit.__all__:
        assert getattr(l2vkit, name) is not None, name
        assert name in dir(l2vkit), name
    assert l2vkit.VideoGenerator is __import__("l2vkit.generator", fromlist=["x"]).VideoGenerator
    with pytest.raises(AttributeError, match="has no attribute 'stear'"):
        l2vkit.stear  # noqa: B018


def test_stubs_import_exactly_the_lazy_names_from_their_modules():
    stubbed = {}
    for node in ast.parse(STUBS.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module != "_version":
            for alias in node.names:
                assert alias.asname == alias.name, "re-export form `import X as X`"
                stubbed[alias.name] = f"l2vkit.{node.module}"
    assert stubbed == l2vkit._LAZY
    assert (STUBS.parent / "py.typed").exists()


def test_import_loads_no_public_object_until_asked():
    code = "import sys, l2vkit; print('l2vkit.steering' in sys.modules, 'l2vkit.coupling' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.split() == ["False", "False"]
