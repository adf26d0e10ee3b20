"""One dependency direction: the core never imports the toy world, no module imports a higher layer, Ω and Ξ know
nothing of each other, and no modules import each other (``python -m l2vkit.dev.layers`` prints the table)."""
import importlib
from pathlib import Path

import pytest

from l2vkit._deprecated import MOVED
from l2vkit.dev import layers

pytestmark = pytest.mark.unit
PACKAGE = Path(layers.__file__).resolve().parents[1]


def test_the_library_keeps_its_layers():
    bad = layers.violations(layers.import_graph())
    assert bad == [], "imports against the layer table:\n" + "\n".join(bad)


def test_every_module_has_a_layer():
    for module in layers.import_graph():
        layers.layer_of(module)  # raises KeyError naming a module that no layer holds


def _skeleton(tmp_path) -> Path:
    """An empty copy of the package's module tree, so imports resolve as they would in the real one."""
    root = tmp_path / "l2vkit"
    for path in PACKAGE.rglob("*.py"):
        target = root / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    return root


# The imports that tied the core to the toy world, or sideways, before the layers were enforced.
OFFENDERS = [
    ("generator/base.py", "from ..toyworld import load_generator", "l2vkit.generator.base"),
    ("coupling/data.py", "from ..toyworld import caption", "l2vkit.coupling.data"),
    ("coupling/fit.py", "from ..toyworld.toy_generator import load_pipeline", "l2vkit.coupling.fit"),
    ("concepts.py", "from .toyworld import caption, random_attributes", "l2vkit.concepts"),
    ("metrics/alignment.py", "from ..toyworld.toy_generator import load_pipeline", "l2vkit.metrics.alignment"),
    ("metrics/video.py", "from .. import toyworld as tw", "l2vkit.metrics.video"),
    ("steering.py", "from .toyworld import measure_or_none", "l2vkit.steering"),
    ("steering.py", "from .plots import sweep_grid", "l2vkit.steering"),
    ("generator/base.py", "from ..vlm.preprocess import resize", "l2vkit.generator.base"),
    ("vlm/extract.py", "from ..generator import VideoGenerator", "l2vkit.vlm.extract"),
]


@pytest.mark.parametrize("where, line, module", OFFENDERS, ids=[f"{w}: {l}" for w, l, _ in OFFENDERS])
def test_the_check_names_each_offending_import(tmp_path, where, line, module):
    root = _skeleton(tmp_path)
    (root / where).write_text(f"def f():\n    {line}\n")  # a lazy import inside a function counts too
    bad = layers.violations(layers.import_graph(root))
    assert len(bad) == 1 and bad[0].startswith(f"{module}:2 imports"), bad


def test_the_check_finds_a_cycle(tmp_path):
    root = _skeleton(tmp_path)
    (root / "plots.py").write_text("from .metrics import video\n")
    (root / "metrics" / "video.py").write_text("def f():\n    from ..plots import new_figure\n")
    bad = layers.violations(layers.import_graph(root))
    assert bad == ["import cycle: l2vkit.metrics.video → l2vkit.plots → l2vkit.metrics.video"], bad


def test_the_table_can_be_printed(capsys):
    assert layers.main([]) == 0
    out = capsys.readouterr().out
    assert "0  shared utilities" in out and "6  toy world" in out and "0 violation(s)" in out
    assert "l2vkit.toyworld.preset → 0 l2vkit.presets" in out  # the toy world fills the core's preset registry


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_moved_names_still_work_with_a_warning(old, new):
    module, _, name = old.rpartition(".")
    home, _, attribute = new.rpartition(".")
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        found = getattr(importlib.import_module(module), name)
    assert found is getattr(importlib.import_module(home), attribute)


def test_unknown_names_still_raise_attribute_error():
    import l2vkit.concepts
    import l2vkit.metrics

    for module in (l2vkit.concepts, l2vkit.metrics):
        with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
            module.nonexistent  # noqa: B018
