"""The exercises inside notebooks 01–07: each checker passes the right answer, rejects at least two plausible wrong
answers with a hint that names the mistake, and reports a stub as not yet implemented; and each notebook's folded
solution passes the checker its exercise cell calls."""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from scipy.stats import pearsonr, rankdata, spearmanr

from l2vkit import labs

ROOT = Path(__file__).parents[1]
SERIES = sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))


def _stub(*args):
    raise NotImplementedError


def _ranks_without_ties(values):
    return np.argsort(np.argsort(values)).astype(float)


# checker, the right answer, [(wrong answer, words its FAIL line must contain), ...]
CASES = {
    "renormalise": (labs.check_renormalise, lambda p: p / p.sum(-1, keepdim=True), [
        (lambda p: torch.softmax(p, -1), "softmax of probabilities"),
        (lambda p: p / p.sum(0, keepdim=True), "over the prompts"),
        (lambda p: p, "must sum to 1"),
    ]),
    "x0_estimate": (labs.check_x0_estimate, lambda z, v, s: z - s * v, [
        (lambda z, v, s: z + s * v, "wrong sign"),
        (lambda z, v, s: z - (1 - s) * v, "not z − (1 − σ)·v"),
    ]),
    "euler_step": (labs.check_euler_step, lambda z, v, s, n: z + (n - s) * v, [
        (lambda z, v, s, n: z + (s - n) * v, "wrong sign"),
        (lambda z, v, s, n: z - s * v, "jumps straight to x̂0"),
    ]),
    "token_cosine": (labs.check_token_cosine,
                     lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=-1).mean(-1), [
        (lambda a, b: torch.nn.functional.cosine_similarity(a.flatten(1), b.flatten(1), dim=-1), "flattened"),
        (lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=1), "along the token axis"),
        (lambda a, b: (a * b).sum(-1).mean(-1), "divide each dot product"),
        (lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=-1).sum(-1), "summed the per-token cosines"),
    ]),
    "steered_condition": (labs.check_steered_condition, lambda base, q, phi: base + phi * q, [
        (lambda base, q, phi: phi * (base + q), "scales the concept vector only"),
        (lambda base, q, phi: base + phi * q / q.norm(), "not normalised"),
        (lambda base, q, phi: base + q if phi else base, "strength φ is ignored"),
    ]),
    "window_steps": (labs.check_window_steps,
                     lambda steps, a, b: [i for i in range(steps) if a <= i / steps < b], [
        (lambda steps, a, b: [i for i in range(steps) if a <= i / steps <= b], "end is excluded"),
        (lambda steps, a, b: [i + 1 for i in range(steps) if a <= i / steps < b], "counted from 0"),
        (lambda steps, a, b: list(range(round(a * steps), round(b * steps) + 1)), "end is excluded"),
        (lambda steps, a, b: list(range(int(a * steps) + 1, int(b * steps))), "expected [3, 4, 5, 6]"),
    ]),
    "latent_frames": (labs.check_latent_frames,
                      lambda m, n: np.array([m[0]] + [m[4 * f - 3:4 * f + 1].any() for f in range(1, n)]), [
        (lambda m, n: np.array([m[4 * f:4 * f + 4].any() for f in range(n)]), "causal VAE encodes frame 0"),
        (lambda m, n: np.array([m[0]] + [m[4 * f - 3:4 * f + 1].all() for f in range(1, n)]), "any, not all"),
    ]),
    "spearman": (labs.check_spearman,
                 lambda x, y: float("nan") if np.ptp(y) == 0 else pearsonr(rankdata(x), rankdata(y))[0], [
        (lambda x, y: float(np.corrcoef(x, y)[0, 1]), "Pearson's r of the values"),
        (lambda x, y: float("nan") if np.ptp(y) == 0 else
         float(np.corrcoef(_ranks_without_ties(x), _ranks_without_ties(y))[0, 1]), "average rank"),
        (lambda x, y: float(np.corrcoef(rankdata(x), rankdata(y))[0, 1]) if np.ptp(y) else 0.0, "return nan"),
        (lambda x, y: spearmanr(x, y), "return one number"),
    ]),
}


@pytest.mark.unit
@pytest.mark.parametrize("name", CASES)
def test_checker_passes_the_right_answer_and_names_wrong_ones(name, capsys):
    check, right, wrongs = CASES[name]
    assert len(wrongs) >= 2
    assert check(right) is True, capsys.readouterr().out
    assert "PASS" in capsys.readouterr().out
    for wrong, hint in wrongs:
        assert check(wrong) is False
        out = capsys.readouterr().out
        assert out.startswith(f"FAIL {name}") and hint in out, out
    assert check(_stub) is False
    assert "not yet implemented" in capsys.readouterr().out


def _exercises(path):
    """(markdown, code) cell pairs of a notebook whose code cell calls a checker."""
    cells = nbformat.read(path, as_version=4).cells
    return [(cells[i - 1].source, cell.source) for i, cell in enumerate(cells)
            if cell.cell_type == "code" and re.search(r"labs\.check_\w+\(", cell.source)]


@pytest.mark.unit
@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.stem)
def test_notebook_has_objectives_and_exercises_with_hints(path):
    first = nbformat.read(path, as_version=4).cells[0].source
    assert "**Learning objectives.**" in first
    exercises = _exercises(path)
    assert 1 <= len(exercises) <= 3
    for text, code in exercises:
        assert text.lstrip().startswith("### Exercise"), text[:60]
        assert "<summary>Hint</summary>" in text and "<summary>Solution</summary>" in text
        assert "raise NotImplementedError" in code  # the student writes it; the solution stays folded


@pytest.mark.unit
@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.stem)
def test_each_folded_solution_passes_its_checker(path, capsys):
    for text, code in _exercises(path):
        checker, function = re.search(r"labs\.(check_\w+)\((\w+)\)", code).groups()
        solution = re.search(r"<summary>Solution</summary>\s*```python\n(.*?)```", text, re.S).group(1)
        namespace = {}
        exec(solution, namespace)
        assert getattr(labs, checker)(namespace[function]) is True, capsys.readouterr().out
        stub = {}
        exec(code.split(f"labs.{checker}")[0], stub)  # the cell as committed: its function is still a stub
        assert getattr(labs, checker)(stub[function]) is False
        assert "not yet implemented" in capsys.readouterr().out.splitlines()[-1]
