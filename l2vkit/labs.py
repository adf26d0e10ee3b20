"""Checker functions for the course labs in ``tutorials/`` (ARENA-style: exercises notebook + solutions notebook).

Every checker takes the student's function (or a value), runs it on small inputs, compares it with l2vkit's own
implementation (and, for optimal transport, with POT), prints **one clear line per check** and returns ``True`` or
``False``. A checker never raises:

- ``PASS <check> — <what was verified>``
- ``FAIL <check>: <reason>`` (wrong values, wrong shape, an exception inside the student's code, …)
- ``<check>: not yet implemented — …`` when the student's code still raises ``NotImplementedError``

=============================  ========================================================================
lab (a) Hellinger Δω           :func:`check_hellinger`, :func:`check_kl`, :func:`check_weighted_target`
lab (b) one ρ-OT step          :func:`check_cost_matrix`, :func:`check_sinkhorn`, :func:`check_rho_ot_step`
lab (c) a new concept          :func:`check_contrast_pair`, :func:`check_judge`, :func:`check_concept`
=============================  ========================================================================

>>> def hellinger(p, q):
...     raise NotImplementedError
>>> check_hellinger(hellinger)
hellinger: not yet implemented — replace the `raise NotImplementedError` with your code, then rerun this cell
False
"""
from __future__ import annotations

import traceback
from typing import Callable

import numpy as np

__all__ = [
    "NOT_DONE",
    "attempt",
    "check_concept",
    "check_contrast_pair",
    "check_cost_matrix",
    "check_hellinger",
    "check_judge",
    "check_kl",
    "check_rho_ot_step",
    "check_sinkhorn",
    "check_weighted_target",
]

NOT_IMPLEMENTED = "not yet implemented"


class _NotDone:
    """What :func:`attempt` returns for an unfinished exercise: falsy, and reported by every checker as
    "not yet implemented"."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_DONE"


#: The value of an unfinished exercise (see :func:`attempt`).
NOT_DONE = _NotDone()


def attempt(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, or :data:`NOT_DONE` when it (still) raises ``NotImplementedError`` — or when one of
    the arguments is itself ``NOT_DONE``. Lets an exercises notebook run top to bottom: later cells test
    ``if value:`` and checkers report the value as "not yet implemented".

    >>> def my_pair():
    ...     raise NotImplementedError
    >>> pair = attempt(my_pair); bool(pair), pair
    (False, NOT_DONE)
    """
    if any(a is NOT_DONE for a in (*args, *kwargs.values())):
        return NOT_DONE
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        return NOT_DONE


class CheckFailed(Exception):
    """Raised inside a check body to report a FAIL with a reason."""


def _run(name: str, body: Callable[[], str | None]) -> bool:
    """Run one check: print PASS / FAIL / not yet implemented and return whether it passed. Never raises."""
    try:
        detail = body()
    except NotImplementedError:
        print(f"{name}: {NOT_IMPLEMENTED} — replace the `raise NotImplementedError` with your code, "
              "then rerun this cell")
        return False
    except CheckFailed as err:
        print(f"FAIL {name}: {err}")
        return False
    except Exception as err:  # the student's code crashed: report it, don't propagate
        where = traceback.extract_tb(err.__traceback__)[-1]
        print(f"FAIL {name}: your code raised {type(err).__name__}: {err} (at {where.name}, line {where.lineno})")
        return False
    print(f"PASS {name}" + (f" — {detail}" if detail else ""))
    return True


def _tensor(x, what: str):
    """The student's output as a float64 torch tensor (accepts torch tensors, numpy arrays, lists, floats)."""
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float64).cpu()
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} returned {type(x).__name__}; expected a tensor or an array of numbers") from None


def _expect_shape(x, shape, what: str):
    if tuple(x.shape) != tuple(shape):
        raise CheckFailed(f"{what} has shape {tuple(x.shape)}; expected {tuple(shape)}")


def _expect_close(got, want, what: str, *, atol: float = 1e-6, rtol: float = 1e-5):
    import torch

    _expect_shape(got, want.shape, what)
    if not torch.isfinite(got).all():
        raise CheckFailed(f"{what} contains NaN or infinite values")
    if not torch.allclose(got, want.to(got.dtype), atol=atol, rtol=rtol):
        worst = int((got - want).abs().flatten().argmax())
        raise CheckFailed(f"{what} differs from the reference: got {got.flatten()[worst].item():.6g} where "
                          f"{want.flatten()[worst].item():.6g} was expected (largest gap "
                          f"{(got - want).abs().max().item():.3g})")


def _dirichlet(rows: int, width: int, seed: int, *, zeros: bool = False):
    import torch

    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(width, 0.7), size=rows)
    if zeros:  # exact zeros, as a confident VLM's distributions have after float underflow
        p[:, : width // 3] = 0.0
        p /= p.sum(1, keepdims=True)
    return torch.tensor(p)


# ------------------------------------------------------------------------------------------- lab (a): Δω
def check_hellinger(fn: Callable) -> bool:
    """Lab (a): ``fn(p, q)`` → Hellinger distance (1/√2)‖√p − √q‖ per row of two (B, V) probability tensors."""

    def body():
        import torch

        from .concepts import divergence

        one_hot = torch.eye(4, dtype=torch.float64)
        same = _tensor(fn(one_hot, one_hot), "hellinger(p, p)")
        _expect_shape(same, (4,), "hellinger(p, q) for (4, 4) inputs (one value per row)")
        if same.abs().max() > 1e-7:
            raise CheckFailed(f"hellinger(p, p) should be 0 for identical distributions, got {same.tolist()}")
        apart = _tensor(fn(one_hot, one_hot.roll(1, dims=1)), "hellinger(p, q)")
        if not torch.allclose(apart, torch.ones(4, dtype=torch.float64), atol=1e-6):
            raise CheckFailed(f"distributions with disjoint support should be exactly 1 apart (the bound), got "
                              f"{[round(x, 4) for x in apart.tolist()]} — did you forget the 1/√2?")
        p, q = _dirichlet(6, 12, 0), _dirichlet(6, 12, 1)
        got = _tensor(fn(p, q), "hellinger(p, q)")
        _expect_close(got, divergence(p, q, "hellinger"), "hellinger(p, q) on 6 random rows")
        back = _tensor(fn(q, p), "hellinger(q, p)")
        _expect_close(back, got, "hellinger(q, p) (it must be symmetric)")
        pz, qz = _dirichlet(5, 9, 2, zeros=True), _dirichlet(5, 9, 3)
        _expect_close(_tensor(fn(pz, qz), "hellinger(p, q)"), divergence(pz, qz, "hellinger"),
                      "hellinger(p, q) with exact zeros in p")
        return "matches l2vkit.concepts.divergence(kind='hellinger'); 0 for p = q, 1 for disjoint p, q; symmetric"

    return _run("hellinger", body)


def check_kl(fn: Callable) -> bool:
    """Lab (a): ``fn(p, q)`` → KL(p‖q) = Σ p (log p − log q) per row, with 0·log 0 = 0 (add a tiny ε inside logs)."""

    def body():
        import torch

        from .concepts import divergence

        p, q = _dirichlet(6, 12, 4), _dirichlet(6, 12, 5)
        got = _tensor(fn(p, q), "kl(p, q)")
        _expect_close(got, divergence(p, q, "kl"), "kl(p, q) on 6 random rows", atol=1e-5)
        if (got < -1e-9).any():
            raise CheckFailed("KL must be ≥ 0")
        pz = _dirichlet(5, 9, 6, zeros=True)
        qz = _dirichlet(5, 9, 7)
        _expect_close(_tensor(fn(pz, qz), "kl(p, q)"), divergence(pz, qz, "kl"),
                      "kl(p, q) with exact zeros in p (0·log 0 must count as 0)", atol=1e-5)
        one_hot = torch.eye(3, dtype=torch.float64)
        far = _tensor(fn(one_hot, one_hot.roll(1, dims=1)), "kl(p, q)")
        if not torch.isfinite(far).all() or (far < 10).any():
            raise CheckFailed(f"for disjoint p, q KL should be huge but finite (ε in the logs), got {far.tolist()}")
        return f"matches the reference; disjoint one-hot rows give KL ≈ {far[0].item():.1f} (unbounded as ε → 0)"

    return _run("kl", body)


def check_weighted_target(fn: Callable) -> bool:
    """Lab (a): ``fn(v_minus, dv, dw)`` → the regression target G(z, π⁻) + Δω·Δv, Δω one scalar per sample.

    ``v_minus``, ``dv``: (B, C, F, h, w); ``dw``: (B,). The target must not carry gradients (it is ``sg[...]``).
    """

    def body():
        import torch

        g = torch.Generator().manual_seed(0)
        v = torch.randn(3, 4, 2, 3, 3, generator=g, dtype=torch.float64)
        dv = torch.randn(3, 4, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
        dw = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64, requires_grad=True)
        out = fn(v, dv, dw)
        if not isinstance(out, torch.Tensor):
            raise CheckFailed(f"returned {type(out).__name__}; expected a torch tensor")
        if out.requires_grad:
            raise CheckFailed("the target still requires grad: wrap it in `.detach()` (the sg[·] of the loss)")
        want = v + dw.detach().view(-1, 1, 1, 1, 1) * dv.detach()
        _expect_close(out.to(torch.float64), want, "target")
        if not torch.equal(out[0], v[0]):
            raise CheckFailed("a sample with Δω = 0 should keep exactly G(z, π⁻): its target moved")
        return "v⁻ + Δω·Δv per sample, detached; Δω = 0 leaves v⁻ unchanged"

    return _run("weighted_target", body)


# ----------------------------------------------------------------------------------------- lab (b): ρ-OT
def check_cost_matrix(fn: Callable) -> bool:
    """Lab (b): ``fn(a, b)`` → M_ij = (a_i − b_j)², divided by its mean, for (..., N1) and (..., N2) inputs."""

    def body():
        import torch

        from .coupling.transport import cost_matrix

        g = torch.Generator().manual_seed(1)
        a, b = torch.randn(5, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
        _expect_close(_tensor(fn(a, b), "cost(a, b)"), cost_matrix(a, b), "cost(a, b) for N1 = 5, N2 = 7")
        A, B = torch.randn(3, 4, 6, generator=g, dtype=torch.float64), torch.randn(3, 4, 5, generator=g,
                                                                                   dtype=torch.float64)
        got = _tensor(fn(A, B), "cost(a, b)")
        _expect_close(got, cost_matrix(A, B), "cost(a, b) for a batch (3, 4) of problems — normalise each "
                                              "problem by its own mean (dim=(-2, -1))")
        return "squared differences normalised by each problem's mean cost; batched"

    return _run("cost_matrix", body)


def check_sinkhorn(fn: Callable) -> bool:
    """Lab (b): ``fn(M, reg, n_iter)`` → the entropic plan T (..., N1, N2) with uniform marginals, log-domain.

    Compared with POT's ``ot.sinkhorn`` (converged), with :func:`l2vkit.coupling.transport.sinkhorn_log` after a
    few iterations, and at a tiny ``reg`` where the plain (non-log) Sinkhorn underflows.
    """

    def body():
        import ot
        import torch

        from .coupling.transport import cost_matrix, sinkhorn_log

        g = torch.Generator().manual_seed(2)
        a, b = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(9, generator=g, dtype=torch.float64)
        M = cost_matrix(a, b)
        T = _tensor(fn(M, 0.1, 2000), "sinkhorn(M, reg, n_iter)")
        _expect_shape(T, (6, 9), "the plan")
        if not torch.isfinite(T).all() or (T < 0).any():
            raise CheckFailed("the plan must be finite and non-negative")
        if abs(T.sum().item() - 1) > 1e-6:
            raise CheckFailed(f"the plan's entries should sum to 1 (uniform marginals 1/N1, 1/N2), got {T.sum():.6f}")
        ref = torch.as_tensor(ot.sinkhorn(np.full(6, 1 / 6), np.full(9, 1 / 9), M.numpy(), 0.1, stopThr=1e-13,
                                          numItermax=100_000))
        _expect_close(T, ref, "converged plan vs POT's ot.sinkhorn(a, b, M, reg=0.1)", atol=1e-7)
        few, _ = sinkhorn_log(M, 0.1, n_iter=3)
        _expect_close(_tensor(fn(M, 0.1, 3), "sinkhorn"), few.exp(),
                      "the plan after n_iter=3 (update f (rows) first, then g (columns), in each iteration)",
                      atol=1e-8)
        batch = cost_matrix(torch.randn(4, 5, generator=g, dtype=torch.float64),
                            torch.randn(4, 7, generator=g, dtype=torch.float64))
        _expect_close(_tensor(fn(batch, 0.2, 10), "sinkhorn"), sinkhorn_log(batch, 0.2, n_iter=10)[0].exp(),
                      "a batch of 4 problems (leading dimensions are independent problems)", atol=1e-8)
        # No two points close: every entry of exp(−M/reg) underflows to 0 at reg = 1e-4.
        far = cost_matrix(torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64),
                          torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64))
        tiny = _tensor(fn(far, 1e-4, 50), "sinkhorn(M, reg=1e-4)")
        if not torch.isfinite(tiny).all() or abs(tiny.sum().item() - 1) > 1e-6:
            raise CheckFailed("at reg = 1e-4 the plan has NaN/inf or lost its mass: exp(−M/reg) underflows to 0 — "
                              "stay in log space (torch.logsumexp) and exponentiate only at the end")
        return "matches POT at convergence and l2vkit's log-domain Sinkhorn step by step; batched; stable at reg=1e-4"

    return _run("sinkhorn", body)


def check_rho_ot_step(fn: Callable) -> bool:
    """Lab (b): ``fn(z1, z2, theta1, theta2, reg, n_iter)`` → z̃ (B, N2, D), one ρ-OT merge.

    Project both branches on the P normalised directions (a = ⟨θ¹_p, z1_i⟩, b = ⟨θ²_p, z2_j⟩), build the normalised
    cost per projection, run ``n_iter`` Sinkhorn iterations, transport z̃ = (1/P) Σ_p N2·T_pᵀ z1. Compared with
    :class:`l2vkit.coupling.networks.RhoOT` (the module the shipped coupling uses).
    """

    def body():
        import torch

        from .coupling.networks import CouplingConfig, RhoOT

        cfg = CouplingConfig(latent_shape=(4, 2, 4, 4), text_dim=8, tokens=10, token_dim=6, projections=7,
                             reg=0.05, sinkhorn_iters=10)
        rho = RhoOT(cfg, torch.Generator().manual_seed(3)).double()
        with torch.no_grad():
            rho.theta2.add_(0.3 * torch.randn(rho.theta2.shape, generator=torch.Generator().manual_seed(4),
                                              dtype=torch.float64))
        g = torch.Generator().manual_seed(5)
        z1 = torch.randn(2, 10, 6, generator=g, dtype=torch.float64)
        z2 = torch.randn(2, 10, 6, generator=g, dtype=torch.float64)
        out = fn(z1, z2, rho.theta1.detach(), rho.theta2.detach(), cfg.reg, cfg.sinkhorn_iters)
        got = _tensor(out, "rho_ot_step(...)")
        with torch.no_grad():
            want = rho(z1, z2)
        _expect_close(got, want, "z̃ vs l2vkit's RhoOT (did you normalise θ to unit length?)", atol=1e-7)
        z2_short = torch.randn(2, 4, 6, generator=g, dtype=torch.float64)
        with torch.no_grad():
            want = rho(z1, z2_short)
        _expect_close(_tensor(fn(z1, z2_short, rho.theta1.detach(), rho.theta2.detach(), cfg.reg, cfg.sinkhorn_iters),
                              "rho_ot_step"), want, "z̃ with N1 = 10, N2 = 4 tokens (scale by N2)", atol=1e-7)
        if isinstance(out, torch.Tensor):
            z1g = z1.clone().requires_grad_(True)
            th = rho.theta1.detach().clone().requires_grad_(True)
            res = fn(z1g, z2, th, rho.theta2.detach(), cfg.reg, cfg.sinkhorn_iters)
            if isinstance(res, torch.Tensor) and res.requires_grad:
                res.sum().backward()
                if th.grad is None or not torch.isfinite(th.grad).all() or th.grad.abs().sum() == 0:
                    raise CheckFailed("no finite gradient reaches θ¹: training the projections needs the Sinkhorn "
                                      "steps to stay differentiable (no .detach(), no numpy)")
        return "matches RhoOT for N1 = N2 and N1 ≠ N2; gradients reach the projections"

    return _run("rho_ot_step", body)


# ------------------------------------------------------------------------------------ lab (c): a new concept
def _resolve(value, *args):
    """A value, or what a function returns for ``args`` (so an unfinished exercise reports cleanly)."""
    value = value(*args) if callable(value) else value
    if value is NOT_DONE:
        raise NotImplementedError
    return value


def _shipped_pair_names() -> set[str]:
    from .toyworld import contrast_pairs

    return {p.name for p in contrast_pairs()}


def check_contrast_pair(pair, *, vlm=None, allow_shipped: bool = False) -> bool:
    """Lab (c): ``pair`` (a :class:`~l2vkit.pairs.ContrastPair`, or a function returning one) is a valid toy-world
    pair — both words fill its slot, the slot belongs to its family — and, unless ``allow_shipped``, a *new* one.
    With ``vlm``, both words must be single tokens the VLM can score."""

    def body():
        import dataclasses

        from .pairs import ContrastPair, validate_pair
        from .toyworld import ATTRIBUTE_VALUES

        p = _resolve(pair)
        if not isinstance(p, ContrastPair):
            raise CheckFailed(f"expected a l2vkit.pairs.ContrastPair, got {type(p).__name__}")
        raw = {k: v for k, v in dataclasses.asdict(p).items() if v not in (None, "")}
        try:
            validate_pair(raw, where=f"pair {p.name!r}", vocabulary=ATTRIBUTE_VALUES)
        except ValueError as err:
            raise CheckFailed(str(err)) from None
        if not allow_shipped and p.name in _shipped_pair_names():
            raise CheckFailed(f"{p.name!r} is already in the shipped bank (data/contrast_pairs.yaml); design a new "
                              f"one, e.g. another {p.slot} pair")
        if vlm is not None:
            for word in (p.source, p.target):
                try:
                    vlm.word_ids(word)
                except Exception as err:  # the VLM's own error names the word
                    raise CheckFailed(f"the VLM cannot score {word!r}: {err}") from None
        return f"{p.name} edits the {p.slot} slot ({p.family} family)"

    return _run("contrast_pair", body)


def check_judge(fn: Callable) -> bool:
    """Lab (c): ``fn(source, slot, target, measured_by_phi)`` → ``{"flip_rate": [...], "preservation_rate": [...]}``
    (one value per φ, ascending), compared with :func:`l2vkit.toyworld.ground_truth.ground_truth_scores` on made-up
    measurements.
    """

    def body():
        from .toyworld.ground_truth import ground_truth_scores
        from .toyworld import random_attributes

        sources = [random_attributes(s).replace(colour="red") for s in range(4)]
        blue = [s.replace(colour="blue") for s in sources]
        wrong = [s.replace(colour="blue", scene="snow" if s.scene != "snow" else "sea") for s in sources]
        measured = {0.0: list(sources), 0.5: [blue[0], sources[1], wrong[2], sources[3]],
                    1.0: [blue[0], blue[1], wrong[2], blue[3]]}
        got = fn(sources, "colour", "blue", measured)
        if not isinstance(got, dict) or not {"flip_rate", "preservation_rate"} <= set(got):
            raise CheckFailed("return a dict with keys 'flip_rate' and 'preservation_rate'")
        ref = ground_truth_scores(sources, "colour", "blue", measured)
        for key, want in (("flip_rate", ref.flip_rate), ("preservation_rate", ref.preservation_rate)):
            values = [float(v) for v in got[key]]
            if len(values) != len(want) or not np.allclose(values, want):
                raise CheckFailed(f"{key} = {values}; expected {want} (one value per φ in ascending order; "
                                  + ("flip: the slot equals the target word" if key == "flip_rate" else
                                     "preserved: every *other* attribute equals the source's") + ")")
        return f"flip {ref.flip_rate}, preserved {ref.preservation_rate} — same as ground_truth_scores"

    return _run("judge", body)


def check_concept(concept, pair, *, generator, seeds=range(6), phi: float = 1.0, min_flip: float = 0.5,
                  min_preserved: float = 0.5, steps: int | None = None) -> bool:
    """Lab (c): judge a trained concept with the toy world's ground truth.

    ``concept``: a :class:`~l2vkit.concepts.ConceptBank` holding ``pair`` (or a function ``pair -> bank``);
    ``pair``: the :class:`~l2vkit.pairs.ContrastPair` (or a function returning it). Samples one random caption with
    the source word per seed, unsteered and steered with ``phi``, measures both from pixels and passes when the
    target word is rendered in at least ``min_flip`` of the seeds and every other attribute is kept in at least
    ``min_preserved`` of them.
    """

    def body():
        from .toyworld import toy_captions
        from .toyworld.ground_truth import ground_truth_scores
        from .toyworld import Attributes, parse_caption
        from .toyworld.steering_eval import measured_or_none

        p = _resolve(pair)
        bank = _resolve(concept, p)
        if not hasattr(bank, "pairs") or p.name not in bank.pairs:
            raise CheckFailed(f"expected a ConceptBank containing {p.name!r}, got "
                              f"{getattr(bank, 'pairs', type(bank).__name__)}")
        q = bank[p.name]
        width = generator.encode_prompt("a").embeds.shape[1:]
        if tuple(q.shape) != tuple(width):
            raise CheckFailed(f"q has shape {tuple(q.shape)}; the generator's condition π is {tuple(width)}")
        if not bool(np.isfinite(q.detach().cpu().numpy()).all()) or float(q.abs().sum()) == 0:
            raise CheckFailed("q is zero or not finite — did training run?")
        seeds_ = [int(s) for s in seeds]
        captions = [toy_captions(p, 1, seed=20_000 + s)[0] for s in seeds_]
        base = generator.encode_prompt(captions)
        steered = base.with_embeds(base.embeds + phi * q.to(base.embeds.dtype))
        before = generator.sample(base, seed=0, steps=steps, output="frames").frames
        after = generator.sample(steered, seed=0, steps=steps, output="frames").frames

        def attrs(video):
            m = measured_or_none(video)
            return None if any(v is None for v in m.values()) else Attributes(**m)

        source = [attrs(v) or parse_caption(c) for v, c in zip(before, captions)]
        measured = [attrs(v) for v in after]
        missing = sum(m is None for m in measured)
        measured = [m if m is not None else s.replace(**{p.slot: p.source}) for m, s in zip(measured, source)]
        if missing:
            print(f"  note: no object found in {missing} steered video(s); counted as not flipped")
        scores = ground_truth_scores(source, p.slot, p.target, {0.0: source, float(phi): measured})
        flip, kept = scores.flip_rate[-1], scores.preservation_rate[-1]
        line = (f"{p.name} at φ = {phi:g} on {len(seeds_)} seeds: {p.slot} → {p.target} in {100 * flip:.0f}%, "
                f"other attributes kept in {100 * kept:.0f}%")
        if flip < min_flip:
            raise CheckFailed(f"{line}; need ≥ {100 * min_flip:.0f}% flipped — train longer, use more samples, or "
                              "pick a pair the generator can render (check the prompt swap first)")
        if kept < min_preserved:
            raise CheckFailed(f"{line}; need ≥ {100 * min_preserved:.0f}% kept — the concept changes more than "
                              "its slot")
        return line

    return _run("concept", body)
