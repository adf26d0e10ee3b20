"""Where l2vkit's shipped data lives, in a source checkout and in an installed wheel."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The shipped ``data/`` folder: ``l2vkit/_data`` in a wheel, the repository's ``data/`` in a checkout."""
    for candidate in (_PACKAGE / "_data", _PACKAGE.parent / "data"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"l2vkit's data folder is missing (looked in {_PACKAGE / '_data'} and {_PACKAGE.parent / 'data'}); "
        "reinstall l2vkit"
    )


def data_path(name: str) -> Path:
    """A file shipped in ``data/``, with an error naming what is there when it is not."""
    path = data_dir() / name
    if not path.exists():
        present = ", ".join(sorted(p.name for p in data_dir().iterdir()))
        raise FileNotFoundError(f"{name!r} is not in l2vkit's data folder {data_dir()} (it holds: {present})")
    return path
