"""Write every notebook's set-up cell, Colab badge and glossary link from ``l2vkit.install`` (the one install-source setting).

    python scripts/sync_setup_cells.py          # rewrites notebooks/*.py and tutorials/*.py; then jupytext --sync
    python scripts/sync_setup_cells.py --check  # exit 1 when a twin differs (tests use the same functions)

Each py:percent twin keeps its own extras (the ``l2vkit[...]`` of its current set-up cell).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l2vkit.install import REPOSITORY, colab_url, setup_cell  # noqa: E402

SETUP = re.compile(r"^# Set-up:.*?check_call\(.*?\)\n    import l2vkit$", re.M | re.S)
EXTRAS = re.compile(r"l2vkit\[([\w,]+)\]")
#: The opening line under the title: the Colab badge, then the glossary of symbols every notebook links to.
BADGE_LINE = re.compile(r"^# \[!\[Open In Colab\]\([^)\s]*\)\]\([^)\s]*\)(?: · \[Glossary of symbols\]\([^)\s]*\))?$",
                        re.MULTILINE)
GLOSSARY = f"https://github.com/{REPOSITORY}/blob/main/docs/glossary.md"


def twins() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.py")) + sorted((ROOT / "tutorials").glob("*.py"))


def synced(path: Path, text: str) -> str:
    """``text`` (a py:percent twin at ``path``) with its set-up cell and badge as ``l2vkit.install`` gives them."""
    match = SETUP.search(text)
    if match is None:
        raise ValueError(f"{path.name}: no set-up cell (a code cell starting '# Set-up:' and ending 'import l2vkit')")
    extras = EXTRAS.search(match.group(0)).group(1).split(",")
    text = text[: match.start()] + setup_cell(extras) + text[match.end():]
    notebook = path.with_suffix(".ipynb").relative_to(ROOT).as_posix()
    line = (f"# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"
            f" · [Glossary of symbols]({GLOSSARY})")
    if BADGE_LINE.search(text) is None:
        raise ValueError(f"{path.name}: no Colab badge line under the title")
    return BADGE_LINE.sub(line.replace("\\", "\\\\"), text, count=1)


def main(argv=None) -> int:
    check = "--check" in (sys.argv[1:] if argv is None else argv)
    stale = []
    for path in twins():
        text = path.read_text()
        new = synced(path, text)
        if new != text:
            stale.append(path.relative_to(ROOT).as_posix())
            if not check:
                path.write_text(new)
    if check and stale:
        print("set-up cells or badges out of date (run `make sync-notebooks`):", *stale, sep="\n  ")
        return 1
    print(("checked" if check else "synced"), len(twins()), "notebook twins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
