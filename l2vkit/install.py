"""Where l2vkit is installed from: the one setting behind every notebook's set-up cell, the Colab badges and the
README's install line.

The set-up cell runs before l2vkit is importable, so it cannot import this module: ``make sync-notebooks``
writes each cell from :func:`setup_cell` (``scripts/sync_setup_cells.py``) and a test fails when a notebook's cell
or badge differs from what this module gives.

At run time the source can be changed without editing anything: set the environment variable ``L2VKIT_SOURCE``
(in a notebook, ``%env L2VKIT_SOURCE=...`` before the set-up cell) to

- a git URL, e.g. a fork or a branch: ``git+https://github.com/YOU/l2vkit@my-branch``;
- a wheel or an sdist by URL: ``https://example.org/l2vkit-0.1.0-py3-none-any.whl``;
- a local path: a checkout (``/content/l2vkit``) or a wheel file (``/content/l2vkit-0.1.0-py3-none-any.whl``).

>>> requirement(["colab"], source="git+https://github.com/YOU/l2vkit@dev")
'l2vkit[colab] @ git+https://github.com/YOU/l2vkit@dev'
"""
from __future__ import annotations

import os

REPOSITORY = "l2vkit/l2vkit"
"""GitHub ``owner/name`` of the project: the Colab badges and the default source point here."""
DEFAULT_SOURCE = f"git+https://github.com/{REPOSITORY}"
"""Installed from when ``L2VKIT_SOURCE`` is not set."""
SOURCE_ENV = "L2VKIT_SOURCE"

# The cell's own code. It must stay plain Python with no l2vkit import; `requirement` below follows the same rule.
_CELL = '''\
# Set-up: installs l2vkit only when it is missing, from $L2VKIT_SOURCE if set (a git URL of a fork, a wheel, or a
# local path; see docs/installation.md), else from {default}.
# It never pins, upgrades or reinstalls torch or numpy.
try:
    import l2vkit
except ImportError:
    import os
    import subprocess
    import sys

    source = os.environ.get("{env}", "{default}")
    spec = f"{{source}}[{extras}]" if os.path.exists(source) else f"l2vkit[{extras}] @ {{source}}"
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", spec])
    import l2vkit'''


def requirement(extras=("colab",), *, source: str | None = None) -> str:
    """The pip requirement that installs l2vkit with ``extras`` from ``source`` (default: ``$L2VKIT_SOURCE``, else
    :data:`DEFAULT_SOURCE`); a local path becomes ``PATH[extras]``, anything else a PEP 508 direct reference."""
    source = source if source is not None else os.environ.get(SOURCE_ENV, DEFAULT_SOURCE)
    if not source:
        raise ValueError(f"{SOURCE_ENV} is empty: unset it, or give a git URL, a wheel URL or a local path")
    joined = ",".join(extras)
    if os.path.exists(source):
        return f"{source}[{joined}]"
    return f"l2vkit[{joined}] @ {source}"


def setup_cell(extras=("colab",)) -> str:
    """The source of the set-up cell that opens every notebook and lab (installs l2vkit with ``extras``)."""
    return _CELL.format(env=SOURCE_ENV, default=DEFAULT_SOURCE, extras=",".join(extras))


def colab_url(notebook_path: str, *, branch: str = "main") -> str:
    """The "Open in Colab" address of a notebook given by its path in the repository."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{branch}/{notebook_path}"
