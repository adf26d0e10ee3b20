"""Colab rehearsal: a notebook's set-up cell run for real in a virtual environment that holds Colab's stack.

``l2vkit.dev.colab_install`` asks pip's resolver what the cell *would* do; this runs the cell itself and compares
``pip list`` before and after. ``tests/test_colab_rehearsal.py`` drives it. Needs PyPI.

How the environment differs from Colab's, and why:

- its Python is the one running this (3.11 on the project's machines; Colab's is 3.13): the only torch wheel this
  machine can install is a CPU build for its own Python, and the pins install on 3.11 as well;
- torch is this machine's CPU build (Colab's 2.11.0 is a CUDA build that cannot be installed here), seen through a
  ``.pth`` file that points at a folder *outside* the environment holding links to it: pip counts it as installed,
  so the cell can only keep it, and pip never uninstalls anything outside an environment's prefix. torchvision is
  left out (l2vkit does not use it); setuptools is not pinned, since this torch needs a newer one than Colab's;
- only the part of Colab that l2vkit meets is installed, at the runtime's versions (``pip install -c``): the
  packages named by the caller, the dependencies of l2vkit and of its ``colab`` and ``text`` extras that Colab has,
  everything those need, and whatever else of Colab's the cell would install (found by a dry run). Colab has about
  700 packages; the dry run checks against all of them.
"""
from __future__ import annotations

import json
import os
import subprocess
import venv
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from . import colab_install as ci

ROOT = ci.ROOT
#: Colab's packages that are not installed for real: CUDA builds (torch comes from this machine, see above) and the
#: installer's own tools, whose versions this machine's torch and pip dictate.
NOT_INSTALLED = {"torch", "torchvision", "torchaudio", "triton", "setuptools", "wheel"}

#: Run in the rehearsal environment after the cell: the notebooks' first steps (toy models, a caption that must be
#: right) and the logit editor built with Colab's ipywidgets, rendered once into its Output. Prints one JSON line.
CHECK = r"""
import json, ipywidgets, l2vkit, transformers
from l2vkit import toyworld as tw
from l2vkit.widgets import logit_editor
vlm, gen = tw.load_vlm(), tw.load_generator()
truth = tw.random_attributes(0)
caption = vlm.caption(tw.render(truth, seed=0))
coupling, bank = tw.load_coupling(vlm=vlm, generator=gen), tw.load_concepts(generator=gen)
editor = logit_editor(gen, vlm, coupling, bank, caption=tw.caption(truth), delay=None, measure=tw.measure)
out = editor.render_now()
print(json.dumps({"caption": caption, "truth": tw.caption(truth), "ipywidgets": ipywidgets.__version__,
                  "transformers": transformers.__version__, "sliders": list(editor.sliders),
                  "rendered": out is not None and len(editor.output.outputs) > 0}))
"""


def stack_names(runtime: ci.Runtime, named=()) -> list:
    """What the rehearsal installs: ``named`` and l2vkit's dependencies (with the ``colab`` and ``text`` extras)
    that ``runtime`` has, less what cannot be installed here."""
    import tomllib  # Python 3.11+: a maintainer tool, run where the tests run

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = [Requirement(r).name for r in project["dependencies"] + extras["colab"] + extras["text"]]
    names = [ci.canonical(n) for n in [*named, *wanted]]
    return sorted({n for n in names if n in runtime.pins} - NOT_INSTALLED)


def _torch_outside(folder: Path) -> Path:
    """A folder of links to this interpreter's torch (its packages and its ``.dist-info``), for a ``.pth`` line."""
    folder.mkdir(parents=True)
    dist = metadata.distribution("torch")
    site = Path(dist.locate_file(""))
    for top in sorted({Path(f).parts[0] for f in dist.files} - {".."}):
        (folder / top).symlink_to(site / top)
    return folder


def colab_environment(folder: Path, runtime: ci.Runtime, named=(), then=()) -> Path:
    """A virtual environment with Colab's stack at ``runtime``'s versions and this machine's CPU torch; returns its
    python. ``then``: what the cell will install (pip requirements); whatever of it Colab has is installed first."""
    env = folder / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    (purelib / "cpu_torch.pth").write_text(f"{_torch_outside(folder / 'cpu-torch')}\n")
    constraints = folder / "colab-constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in runtime.pins.items() if n not in NOT_INSTALLED))
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(pip + [f"pip=={runtime.pins['pip']}"])  # Colab's pip runs the cell
    _run(pip + ["-c", constraints, *stack_names(runtime, named)])
    # The rest of what the cell will install that Colab has (a newer huggingface-hub needs typer, pydantic, …), at
    # Colab's versions too: on Colab the cell meets them installed, and may not replace them either.
    for _ in range(3 if then else 0):
        have = installed(python)
        missing = sorted(n for n in would_install(python, then) if n in runtime.pins and n not in have
                         and n not in NOT_INSTALLED)
        if not missing:
            break
        _run(pip + ["-c", constraints, *missing])
    return python


def installed(python: Path) -> dict:
    """``pip list`` of an environment: canonical name → version."""
    listed = json.loads(_run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"]))
    return {ci.canonical(p["name"]): p["version"] for p in listed}


def run_cell(python: Path, cell: str, source=ROOT) -> None:
    """Run a set-up cell's source, as written, with ``L2VKIT_SOURCE=source`` (outside the checkout, so that
    ``import l2vkit`` cannot find it there)."""
    env = {**os.environ, "L2VKIT_SOURCE": str(source), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    _run([python, "-c", cell], env=env, cwd=Path(python).parents[2])


def changes(runtime: ci.Runtime, before: dict, after: dict, requirements=()) -> ci.DryRun:
    """What changed between two listings, as a :class:`~l2vkit.dev.colab_install.DryRun` (so that
    ``unexpected_replacements`` and ``summary`` apply): new packages, and replaced ones with the version before."""
    new = [(n, v) for n, v in sorted(after.items()) if n not in before]
    replaced = [(n, before[n], v) for n, v in sorted(after.items()) if n in before and before[n] != v]
    removed = [(n, before[n], "(removed)") for n in sorted(before) if n not in after]
    return ci.DryRun(runtime.name, [str(r) for r in requirements], new, replaced + removed)


def would_install(python: Path, requirements) -> dict:
    """``pip install --dry-run`` in the rehearsal environment: what pip would install (name → version)."""
    report = Path(python).parents[2] / "dry-run.json"
    _run([python, "-m", "pip", "install", "--dry-run", "-q", "--disable-pip-version-check", "--report", report,
          *requirements])
    return {ci.canonical(i["metadata"]["name"]): i["metadata"]["version"]
            for i in json.loads(report.read_text())["install"]}


def uninstall_l2vkit(python: Path) -> None:
    """Remove l2vkit (only it) so that the next set-up cell installs it again."""
    _run([python, "-m", "pip", "uninstall", "-y", "-q", "l2vkit"])


def check_notebook_path(python: Path) -> dict:
    """Run :data:`CHECK` in the environment (outside the checkout) and return what it printed."""
    return json.loads(_run([python, "-c", CHECK], cwd=Path(python).parents[2]).splitlines()[-1])


def _run(command, **kwargs) -> str:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))[:300]} … failed (exit {result.returncode}):\n"
                           f"{result.stderr[-3000:]}")
    return result.stdout
