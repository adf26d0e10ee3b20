"""The install source is one setting (l2vkit.install): every notebook's set-up cell and badge, and the README, follow
it; the cell installs from $L2VKIT_SOURCE when set, by URL or by local path."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

from l2vkit import install

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "tutorials").glob("*.ipynb"))
pytestmark = pytest.mark.unit


def _setup_source(path: Path) -> str:
    cells = nbformat.read(path, as_version=4).cells
    return next(c.source for c in cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_and_badge_come_from_the_install_module(path):
    import sync_setup_cells

    twin = path.with_suffix(".py")
    assert sync_setup_cells.synced(twin, twin.read_text()) == twin.read_text(), (
        f"{twin.name}: set-up cell or badge differs from l2vkit/install.py; run `make sync-notebooks`")
    source = _setup_source(path)
    extras = source.split("l2vkit[")[1].split("]")[0].split(",")
    assert source == install.setup_cell(extras)
    badge = nbformat.read(path, as_version=4).cells[0].source
    assert install.colab_url(f"{path.parent.name}/{path.name}") in badge


def _run_setup_cell(monkeypatch, source: str) -> list[str]:
    """Execute a set-up cell as if l2vkit were not installed; return the pip command it runs."""
    calls = []
    real = sys.modules["l2vkit"]
    monkeypatch.setitem(sys.modules, "l2vkit", None)  # `import l2vkit` now raises ImportError

    def fake_check_call(command):
        calls.append(command)
        sys.modules["l2vkit"] = real  # "installed": the cell's second import succeeds

    monkeypatch.setattr(subprocess, "check_call", fake_check_call)
    exec(compile(source, "<set-up cell>", "exec"), {})
    assert len(calls) == 1
    return calls[0]


@pytest.mark.parametrize("source", [None, "git+https://github.com/someone/l2vkit@branch", "LOCAL"])
def test_setup_cell_installs_what_requirement_says(monkeypatch, tmp_path, source):
    if source == "LOCAL":
        source = str(tmp_path)  # a local checkout or wheel: an existing path
    if source is None:
        monkeypatch.delenv(install.SOURCE_ENV, raising=False)
    else:
        monkeypatch.setenv(install.SOURCE_ENV, source)
    command = _run_setup_cell(monkeypatch, install.setup_cell(["colab", "text"]))
    assert command[:5] == [sys.executable, "-m", "pip", "install", "-q"]
    assert command[5] == install.requirement(["colab", "text"])
    expected_source = source or install.DEFAULT_SOURCE
    assert expected_source in command[5]


def test_requirement_forms():
    url = install.requirement(["colab"], source="git+https://github.com/you/l2vkit@dev")
    parsed = Requirement(url)
    assert (parsed.name, parsed.extras, parsed.url) == ("l2vkit", {"colab"}, "git+https://github.com/you/l2vkit@dev")
    assert install.requirement(["colab", "text"], source=str(ROOT)) == f"{ROOT}[colab,text]"
    with pytest.raises(ValueError, match="L2VKIT_SOURCE is empty"):
        install.requirement(source="")


def test_readme_installs_from_the_same_source():
    readme = (ROOT / "README.md").read_text()
    assert f'"{install.requirement(["text"], source=install.DEFAULT_SOURCE)}"' in readme
    assert install.SOURCE_ENV in readme


def test_sync_script_rewrites_a_stale_cell(tmp_path):
    import sync_setup_cells

    twin = ROOT / "notebooks" / "00_setup_and_toy_world.py"
    stale = twin.read_text().replace(install.DEFAULT_SOURCE, "git+https://example.org/old", 1)
    assert stale != twin.read_text()
    assert sync_setup_cells.synced(twin, stale) == twin.read_text()
