"""Course-lab checkers: PASS on correct code, FAIL with a reason on wrong code, "not yet implemented" on stubs —
and never an exception. Also: every exercises notebook is generated from its solutions notebook."""
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from l2vkit import labs
from l2vkit.pairs import ContrastPair

ROOT = Path(__file__).parents[1]


def _stub(*args, **kwargs):
    raise NotImplementedError


# ------------------------------------------------------------------------------------ reference solutions
def hellinger(p, q):
    return (p.sqrt() - q.sqrt()).norm(dim=-1) / math.sqrt(2)


def kl(p, q, eps=1e-12):
    return (p * ((p + eps).log() - (q + eps).log())).sum(-1)


def weighted_target(v, dv, dw):
    return (v + dw.view(-1, *[1] * (v.ndim - 1)) * dv).detach()


def cost(a, b):
    M = (a.unsqueeze(-1) - b.unsqueeze(-2)) ** 2
    return M / M.mean(dim=(-2, -1), keepdim=True)


def sinkhorn(M, reg, n_iter):
    N1, N2 = M.shape[-2:]
    K, g = -M / reg, M.new_zeros(M.shape[:-2] + (N2,))
    for _ in range(n_iter):
        f = -math.log(N1) - torch.logsumexp(K + g.unsqueeze(-2), -1)
        g = -math.log(N2) - torch.logsumexp(K + f.unsqueeze(-1), -2)
    return (K + f.unsqueeze(-1) + g.unsqueeze(-2)).exp()


def rho_ot_step(z1, z2, t1, t2, reg, n_iter):
    t1, t2 = torch.nn.functional.normalize(t1, dim=-1), torch.nn.functional.normalize(t2, dim=-1)
    a, b = torch.einsum("bnd,pd->bpn", z1, t1), torch.einsum("bnd,pd->bpn", z2, t2)
    return torch.einsum("bpij,bid->bjd", sinkhorn(cost(a, b), reg, n_iter), z1) * z2.shape[1] / a.shape[1]


def judge(source, slot, target, measured):
    fields = ("colour", "shape", "size", "adverb", "direction", "scene")
    flips, kept = [], []
    for phi in sorted(measured):
        ms = measured[phi]
        flips.append(sum(getattr(m, slot) == target for m in ms) / len(ms))
        kept.append(sum(all(getattr(m, f) == getattr(s, f) for f in fields if f != slot)
                        for m, s in zip(ms, source)) / len(ms))
    return {"flip_rate": flips, "preservation_rate": kept}


# ------------------------------------------------------------------------------------------- wrong answers
def hellinger_without_half(p, q):
    return (p.sqrt() - q.sqrt()).norm(dim=-1)


def kl_with_nan(p, q):
    return (p * (p.log() - q.log())).sum(-1)


def target_with_grad(v, dv, dw):
    return v + dw.view(-1, 1, 1, 1, 1) * dv


def target_plain_broadcast(v, dv, dw):
    return (v + dw * dv).detach()


def target_without_weight(v, dv, dw):
    return (v + dv).detach()


def cost_unnormalised(a, b):
    return (a.unsqueeze(-1) - b.unsqueeze(-2)) ** 2


def cost_global_mean(a, b):
    M = (a.unsqueeze(-1) - b.unsqueeze(-2)) ** 2
    return M / M.mean()


def sinkhorn_plain(M, reg, n_iter):  # the non-log algorithm: right in the limit, NaN at small reg
    N1, N2 = M.shape[-2:]
    K = torch.exp(-M / reg)
    v = torch.ones(M.shape[:-2] + (N2,), dtype=M.dtype)
    for _ in range(n_iter):
        u = (1 / N1) / (K @ v.unsqueeze(-1)).squeeze(-1)
        v = (1 / N2) / (K.transpose(-1, -2) @ u.unsqueeze(-1)).squeeze(-1)
    return u.unsqueeze(-1) * K * v.unsqueeze(-2)


def rho_unnormalised_theta(z1, z2, t1, t2, reg, n_iter):
    a, b = torch.einsum("bnd,pd->bpn", z1, t1), torch.einsum("bnd,pd->bpn", z2, t2)
    return torch.einsum("bpij,bid->bjd", sinkhorn(cost(a, b), reg, n_iter), z1) * z2.shape[1] / a.shape[1]


def judge_flip_only(source, slot, target, measured):
    out = judge(source, slot, target, measured)
    return {"flip_rate": out["flip_rate"], "preservation_rate": [1.0] * len(out["flip_rate"])}


def rho_without_n2(z1, z2, t1, t2, reg, n_iter):
    return rho_ot_step(z1, z2, t1, t2, reg, n_iter) / z2.shape[1]


def rho_transports_z2(z1, z2, t1, t2, reg, n_iter):
    t1, t2 = torch.nn.functional.normalize(t1, dim=-1), torch.nn.functional.normalize(t2, dim=-1)
    a, b = torch.einsum("bnd,pd->bpn", z1, t1), torch.einsum("bnd,pd->bpn", z2, t2)
    return torch.einsum("bpij,bid->bjd", sinkhorn(cost(a, b), reg, n_iter), z2) * z2.shape[1] / a.shape[1]


def judge_any_change(source, slot, target, measured):
    out = judge(source, slot, target, measured)
    flips = [sum(getattr(m, slot) != getattr(s, slot) for m, s in zip(measured[phi], source)) / len(source)
             for phi in sorted(measured)]
    return {"flip_rate": flips, "preservation_rate": out["preservation_rate"]}


def judge_keeps_the_slot_too(source, slot, target, measured):
    out = judge(source, slot, target, measured)
    kept = [sum(m == s for m, s in zip(measured[phi], source)) / len(source) for phi in sorted(measured)]
    return {"flip_rate": out["flip_rate"], "preservation_rate": kept}


def reads_target(before, after):
    was_source = before <= 0.5
    return float((after[was_source] > 0.5).mean()) if was_source.any() else 0.0


def reads_target_everywhere(before, after):
    return float((after > 0.5).mean())


def reads_target_at_half(before, after):
    return float((after[before <= 0.5] >= 0.5).mean())


CASES = [
    (labs.check_hellinger, hellinger, hellinger_without_half, "1/√2"),
    (labs.check_kl, kl, kl_with_nan, "NaN"),
    (labs.check_weighted_target, weighted_target, target_with_grad, "detach"),
    (labs.check_weighted_target, weighted_target, target_plain_broadcast, "broadcasts against the *last* axis"),
    (labs.check_weighted_target, weighted_target, target_without_weight, "ignores Δω"),
    (labs.check_cost_matrix, cost, cost_unnormalised, "differs"),
    (labs.check_cost_matrix, cost, cost_global_mean, "own mean"),
    (labs.check_sinkhorn, sinkhorn, sinkhorn_plain, "log space"),
    (labs.check_rho_ot_step, rho_ot_step, rho_unnormalised_theta, "normalise θ¹ and θ²"),
    (labs.check_rho_ot_step, rho_ot_step, rho_without_n2, "N2 times too small"),
    (labs.check_rho_ot_step, rho_ot_step, rho_transports_z2, "you transported z2"),
    (labs.check_judge, judge, judge_flip_only, "preservation_rate"),
    (labs.check_judge, judge, judge_any_change, "red → green did not flip"),
    (labs.check_judge, judge, judge_keeps_the_slot_too, "the edited one too"),
    (labs.check_reads_target, reads_target, reads_target_everywhere, "did not read so before"),
    (labs.check_reads_target, reads_target, reads_target_at_half, "P(target) > 0.5"),
]


@pytest.mark.unit
@pytest.mark.parametrize("check, good, bad, reason", CASES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_checker_passes_fails_and_waits(check, good, bad, reason, capsys):
    assert check(good) is True
    assert capsys.readouterr().out.startswith("PASS ")
    assert check(bad) is False
    out = capsys.readouterr().out
    assert out.startswith("FAIL ") and reason in out, out
    assert check(_stub) is False
    assert "not yet implemented" in capsys.readouterr().out


@pytest.mark.unit
def test_checkers_never_raise(capsys):
    def crashes(*args):
        return 1 / 0

    def wrong_type(*args):
        return "a string"

    for check in (labs.check_hellinger, labs.check_kl, labs.check_cost_matrix, labs.check_sinkhorn,
                  labs.check_rho_ot_step, labs.check_judge, labs.check_weighted_target, labs.check_reads_target):
        assert check(crashes) is False
        assert "ZeroDivisionError" in capsys.readouterr().out
        assert check(wrong_type) is False
        assert capsys.readouterr().out.startswith("FAIL ")


@pytest.mark.unit
def test_sinkhorn_checker_names_the_update_order(capsys):
    def columns_first(M, reg, n_iter):  # POT's order: converges to the same plan, differs after a few steps
        N1, N2 = M.shape[-2:]
        K, f = -M / reg, M.new_zeros(M.shape[:-1])
        for _ in range(n_iter):
            g = -math.log(N2) - torch.logsumexp(K + f.unsqueeze(-1), -2)
            f = -math.log(N1) - torch.logsumexp(K + g.unsqueeze(-2), -1)
        return (K + f.unsqueeze(-1) + g.unsqueeze(-2)).exp()

    assert labs.check_sinkhorn(columns_first) is False
    out = capsys.readouterr().out
    assert "n_iter=3" in out and "rows" in out, out


@pytest.mark.unit
def test_contrast_pair_checker(capsys):
    assert labs.check_contrast_pair(ContrastPair("yellow", "red", "colour", "attribute")) is True
    assert labs.check_contrast_pair(lambda: ContrastPair("up", "down", "direction", "action")) is True
    capsys.readouterr()
    assert labs.check_contrast_pair(ContrastPair("red", "blue", "colour", "attribute")) is False
    assert "already in the shipped bank" in capsys.readouterr().out
    assert labs.check_contrast_pair(ContrastPair("red", "blue", "colour", "attribute"), allow_shipped=True) is True
    assert labs.check_contrast_pair(ContrastPair("red", "slowly", "colour", "attribute")) is False
    assert "not a colour" in capsys.readouterr().out
    assert labs.check_contrast_pair(ContrastPair("up", "down", "direction", "scene")) is False
    assert "not in family" in capsys.readouterr().out
    assert labs.check_contrast_pair("yellow->red") is False
    assert "ContrastPair" in capsys.readouterr().out
    assert labs.check_contrast_pair(_stub) is False
    assert labs.check_contrast_pair(labs.attempt(_stub)) is False
    assert capsys.readouterr().out.count("not yet implemented") == 2


@pytest.mark.unit
def test_attempt():
    assert labs.attempt(lambda x: x + 1, 1) == 2
    assert labs.attempt(_stub) is labs.NOT_DONE and not labs.NOT_DONE
    assert labs.attempt(lambda x: x, labs.NOT_DONE) is labs.NOT_DONE
    with pytest.raises(ZeroDivisionError):  # only NotImplementedError means "not done"
        labs.attempt(lambda: 1 / 0)


@pytest.mark.integration
def test_concept_checker_on_the_shipped_bank(capsys):
    from l2vkit import toyworld as tw

    gen = tw.load_generator()
    bank = tw.load_concepts(generator=gen)
    red_blue = bank.spec("red->blue")
    assert labs.check_concept(bank, red_blue, generator=gen, seeds=range(4), steps=12) is True
    out = capsys.readouterr().out
    assert out.startswith("PASS concept") and "red->blue" in out
    assert labs.check_concept(bank, red_blue, generator=gen, seeds=range(4), phi=0.0, steps=12) is False
    assert "need ≥ 50% flipped" in capsys.readouterr().out
    assert labs.check_concept(bank, ContrastPair("yellow", "red", "colour", "attribute"), generator=gen) is False
    assert "ConceptBank containing 'yellow->red'" in capsys.readouterr().out
    assert labs.check_concept(_stub, red_blue, generator=gen) is False
    assert labs.check_concept(labs.NOT_DONE, labs.NOT_DONE, generator=gen) is False
    assert capsys.readouterr().out.count("not yet implemented") == 2


@pytest.mark.unit
def test_exercises_are_generated_from_the_solutions():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_lab_exercises.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    solutions = sorted((ROOT / "tutorials").glob("*_solutions.ipynb"))
    assert len(solutions) == 3
    for path in solutions:
        exercises = path.with_name(path.name.replace("_solutions", "_exercises"))
        assert exercises.exists(), f"{exercises.name} is missing"
        text = exercises.with_suffix(".py").read_text()
        assert "raise NotImplementedError" in text and "# BEGIN SOLUTION" not in text
