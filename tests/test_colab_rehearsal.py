"""Colab rehearsal: every notebook's set-up cell, run for real (with ``L2VKIT_SOURCE`` = this checkout) in a fresh
virtual environment holding Colab's stack at the versions of requirements/colab-runtime*.txt, installs l2vkit and
replaces nothing of that stack but an old transformers; the notebooks' first steps and the logit editor then work
with what is there (ipywidgets 7.7.1 included).

Where the environment differs from Colab (l2vkit/dev/colab_rehearsal.py says why): this machine's Python (3.11, not
Colab's 3.13 or 3.12) and its CPU torch 2.13 (Colab's is a CUDA build of 2.11), which the cell cannot replace;
torchvision absent; and of Colab's ~700 packages only those l2vkit meets. tests/test_colab_install.py (the dry run)
checks against all of them. Needs PyPI; about 80 s per runtime on a 2-core machine, so only the newest runtime runs
with the integration tests and the older one is `slow`.
"""
from pathlib import Path

import nbformat
import pytest
from packaging.version import Version

from l2vkit.dev import colab_install as ci
from l2vkit.dev import colab_rehearsal as cr
from l2vkit.install import setup_cell
from l2vkit.toyworld.preset import MIN_TRANSFORMERS

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "tutorials").glob("*.ipynb"))
CELLS = {extras: setup_cell(extras.split(",")) for extras in ci.EXTRAS}
#: Installed for real beside ci.COLAB_STACK (and l2vkit's own dependencies that Colab has).
ALSO = ("diffusers", "safetensors", "scipy", "scikit-learn")
#: The newest runtime runs with the integration tests; older ones are slow (one rehearsal is ~80 s).
RUNTIMES = [pytest.param(path, id=path.name,
                         marks=pytest.mark.integration if path.name == "colab-runtime.txt" else pytest.mark.slow)
            for path in ci.RUNTIMES]


def _used_extras() -> list:
    """The extras of the set-up cells the notebooks open with, each checked to be one of CELLS exactly."""
    used = set()
    for path in NOTEBOOKS:
        source = next(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        extras = [e for e, cell in CELLS.items() if cell == source]
        assert extras, f"{path.name}: its set-up cell is none of setup_cell({list(CELLS)}); run `make sync-notebooks`"
        used.update(extras)
    return [e for e in ci.EXTRAS if e in used]  # colab before colab,text: the second adds to the first


@pytest.mark.unit
def test_every_notebook_opens_with_a_rehearsed_cell():
    assert NOTEBOOKS and _used_extras()


@pytest.mark.parametrize("path", RUNTIMES)
def test_setup_cells_install_l2vkit_and_keep_colabs_stack(path, tmp_path):
    if not ci.pypi_reachable():
        pytest.skip("PyPI unreachable: the rehearsal installs Colab's packages from it")
    runtime = ci.read_runtime(path)
    used = _used_extras()
    widest = ",".join(dict.fromkeys(",".join(used).split(",")))
    python = cr.colab_environment(tmp_path, runtime, named=ci.COLAB_STACK + ALSO, then=[f"{ROOT}[{widest}]"])
    before = cr.installed(python)
    # the environment is Colab's where it can be: every package Colab has is at Colab's version (torch excepted)
    assert "l2vkit" not in before and before["ipywidgets"] == "7.7.1"
    off = {n: (v, runtime.pins[n]) for n, v in before.items() if n in runtime.pins and v != runtime.pins[n]}
    assert set(off) <= cr.NOT_INSTALLED, off
    old = Version(runtime.pins["transformers"]) < Version(MIN_TRANSFORMERS)

    for extras in used:
        cr.uninstall_l2vkit(python)  # the cell installs only when `import l2vkit` fails
        cr.run_cell(python, CELLS[extras], source=ROOT)
        after = cr.installed(python)
        result = cr.changes(runtime, before, after, [f"{ROOT}[{extras}]"])  # since Colab's state, not the last cell
        print(result.summary())
        assert "l2vkit" in dict(result.new), result.summary()
        assert ci.unexpected_replacements(result, runtime) == [], result.summary()
        replaced = {name for name, *_ in result.replaced}
        assert not replaced & (set(ci.COLAB_STACK) - ci.TRANSFORMERS_UPGRADE), result.summary()
        assert ("transformers" in replaced) == old, result.summary()
        assert all(after[n] == before[n] for n in ("torch", "numpy", "ipywidgets")), result.summary()
        # nothing Colab has came in new: the rehearsal held all of Colab that the cell meets
        assert not [n for n, _ in result.new if n in runtime.pins], result.summary()

    # the notebook path on what the cells left: toy models load, the VLM captions a video right, the editor builds
    # and renders with Colab's ipywidgets
    seen = cr.check_notebook_path(python)
    assert seen["caption"] == seen["truth"], seen
    assert seen["ipywidgets"] == "7.7.1" and seen["sliders"] and seen["rendered"], seen

    # the check can fail: a stricter bound (ipywidgets>=8, the colab extra's bound before) replaces Colab's 7.7.1
    stricter = cr.changes(runtime, before, {**after, **cr.would_install(python, ["ipywidgets>=8"])})
    assert ("ipywidgets", "7.7.1") in [r[:2] for r in ci.unexpected_replacements(stricter, runtime)], stricter.summary()
