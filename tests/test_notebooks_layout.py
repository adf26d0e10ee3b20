"""Notebook hygiene: paired with py:percent twins, in sync, no outputs, fixed opening cells."""
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "tutorials").glob("*.ipynb"))
pytestmark = pytest.mark.unit


def _cells(notebook):
    return [(c.cell_type, c.source.strip()) for c in notebook.cells]


SERIES = ("00_setup_and_toy_world", "01_vlm_embeddings_and_logits", "02_generator_velocities",
          "03_fitting_the_coupling", "04_attribute_steering", "05_adverb_steering",
          "06_scene_steering_and_composition", "07_metrics_and_plots", "08_interactive_logit_editor")
LABS = ("lab_a_hellinger", "lab_b_rho_ot", "lab_c_new_concept")


def test_there_are_notebooks():
    assert (ROOT / "notebooks" / "00_setup_and_toy_world.ipynb") in NOTEBOOKS


def test_the_series_and_the_labs_are_complete():
    numbered = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert numbered == list(SERIES), f"the numbered series is {numbered}"
    labs = sorted(p.stem for p in (ROOT / "tutorials").glob("*.ipynb"))
    assert labs == sorted(f"{lab}_{kind}" for lab in LABS for kind in ("exercises", "solutions")), labs


@pytest.mark.parametrize("lab", LABS)
def test_exercises_have_stubs_and_checkers(lab):
    exercises = nbformat.read(ROOT / "tutorials" / f"{lab}_exercises.ipynb", as_version=4)
    solutions = nbformat.read(ROOT / "tutorials" / f"{lab}_solutions.ipynb", as_version=4)
    code = "\n".join(c.source for c in exercises.cells if c.cell_type == "code")
    assert "raise NotImplementedError" in code and "labs.check_" in code
    answers = "\n".join(c.source for c in solutions.cells if c.cell_type == "code")
    assert "raise NotImplementedError" not in answers
    assert code.count("labs.check_") == answers.count("labs.check_")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_pair_in_sync(path):
    twin = path.with_suffix(".py")
    assert twin.exists(), f"{path.name} has no py:percent twin; run `make sync-notebooks`"
    assert _cells(jupytext.read(path)) == _cells(jupytext.read(twin)), (
        f"{path.name} and {twin.name} differ; edit one, then run `make sync-notebooks`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_names_its_kernel(path):
    """Without a kernelspec JupyterLab opens a "Select Kernel" dialog before the first cell can run."""
    kernel = nbformat.read(path, as_version=4).metadata.get("kernelspec", {})
    assert kernel.get("name") == "python3" and kernel.get("language") == "python", f"{path.name}: {kernel}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_that_draw_figures_show_them_inline(path):
    """Executed outside a live Jupyter (nbconvert, nbmake, a docs build) a matplotlib figure is saved as the text
    `<Figure size …>` unless the inline backend is on."""
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    if any(call in code for call in ("contact_sheet(", "plt.", "plots.", "plot_")):
        assert "%matplotlib inline" in code, f"{path.name} draws figures without `%matplotlib inline`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_outputs_committed(path):
    notebook = nbformat.read(path, as_version=4)
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name} cell {i} carries outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opening_cells(path):
    cells = nbformat.read(path, as_version=4).cells
    first = cells[0].source
    assert "colab.research.google.com/assets/colab-badge.svg" in first
    assert f"blob/main/{path.parent.name}/{path.name}" in first, "the badge must open this notebook"
    assert "[Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)" in first
    assert "**Runtime.**" in first
    setup = next(c.source for c in cells if c.cell_type == "code")
    assert "import l2vkit" in setup and "except ImportError" in setup
    setup_code = "\n".join(line for line in setup.splitlines() if not line.lstrip().startswith("#"))
    assert not any(word in setup_code for word in ("torch", "numpy")), "the set-up cell must leave torch and numpy alone"
    code = [c.source for c in cells if c.cell_type == "code"]
    # the numbered notebooks choose their models by hardware tier (l2vkit.tiers); the labs name the models
    names = ("TIER",) if path.parent.name == "notebooks" else ("VLM_ID", "GENERATOR_ID")
    assert any(src.lstrip().startswith("# Config") and all(n in src for n in names) for src in code)
    assert "What to try next" in cells[-1].source
