"""Write each lab's exercises notebook from its solutions notebook (the solutions are the source of truth).

    python scripts/make_lab_exercises.py          # writes tutorials/*_exercises.py, then run `make sync-notebooks`
    python scripts/make_lab_exercises.py --check  # exit 1 when an exercises twin is out of date (tests use this)

In ``tutorials/<lab>_solutions.py`` (py:percent):

- lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` become ``# YOUR CODE HERE`` + ``raise NotImplementedError``
  (at the marker's indentation);
- "— solutions" in the title becomes "— exercises", and the Colab badge opens the exercises notebook.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL = re.compile(r"^# %%.*$", re.M)


def _cells(text: str) -> list[str]:
    starts = [m.start() for m in CELL.finditer(text)]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def exercises_from_solutions(text: str) -> str:
    """The exercises text of one lab from its solutions text."""
    out = []
    for cell in _cells(text):
        lines, skipping = [], False
        for line in cell.splitlines(keepends=True):
            stripped = line.strip()
            if stripped == "# BEGIN SOLUTION":
                indent = line[: len(line) - len(line.lstrip())]
                lines += [f"{indent}# YOUR CODE HERE\n", f"{indent}raise NotImplementedError\n"]
                skipping = True
            elif stripped == "# END SOLUTION":
                skipping = False
            elif not skipping:
                lines.append(line)
        cell = "".join(lines).replace(" — solutions", " — exercises")
        out.append(re.sub(r"(blob/main/tutorials/\w+)_solutions\.ipynb", r"\1_exercises.ipynb", cell))
    return "".join(out)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in argv
    stale = []
    for solutions in sorted((ROOT / "tutorials").glob("*_solutions.py")):
        exercises = solutions.with_name(solutions.name.replace("_solutions.py", "_exercises.py"))
        text = exercises_from_solutions(solutions.read_text())
        if not exercises.exists() or exercises.read_text() != text:
            stale.append(exercises)
            if not check:
                exercises.write_text(text)
                print(f"wrote {exercises.relative_to(ROOT)}")
    if check and stale:
        print("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in stale)
              + " — run `python scripts/make_lab_exercises.py` then `make sync-notebooks`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
