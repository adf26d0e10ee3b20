"""Lab (a), the Hellinger Δω: checkers for the student's Hellinger distance, KL divergence and weighted
regression target."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .checking import CheckFailed, as_tensor, expect_close, expect_shape, run_check


def _dirichlet(rows: int, width: int, seed: int, *, zeros: bool = False):
    import torch

    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(width, 0.7), size=rows)
    if zeros:  # exact zeros, as a confident VLM's distributions have after float underflow
        p[:, : width // 3] = 0.0
        p /= p.sum(1, keepdims=True)
    return torch.tensor(p)


def check_hellinger(fn: Callable) -> bool:
    """Lab (a): ``fn(p, q)`` → Hellinger distance (1/√2)‖√p − √q‖ per row of two (B, V) probability tensors."""

    def body():
        import torch

        from ..concepts import divergence

        one_hot = torch.eye(4, dtype=torch.float64)
        same = as_tensor(fn(one_hot, one_hot), "hellinger(p, p)")
        expect_shape(same, (4,), "hellinger(p, q) for (4, 4) inputs (one value per row)")
        if same.abs().max() > 1e-7:
            raise CheckFailed(f"hellinger(p, p) should be 0 for identical distributions, got {same.tolist()}")
        apart = as_tensor(fn(one_hot, one_hot.roll(1, dims=1)), "hellinger(p, q)")
        if not torch.allclose(apart, torch.ones(4, dtype=torch.float64), atol=1e-6):
            raise CheckFailed(f"distributions with disjoint support should be exactly 1 apart (the bound), got "
                              f"{[round(x, 4) for x in apart.tolist()]} — did you forget the 1/√2?")
        p, q = _dirichlet(6, 12, 0), _dirichlet(6, 12, 1)
        got = as_tensor(fn(p, q), "hellinger(p, q)")
        expect_close(got, divergence(p, q, "hellinger"), "hellinger(p, q) on 6 random rows")
        back = as_tensor(fn(q, p), "hellinger(q, p)")
        expect_close(back, got, "hellinger(q, p) (it must be symmetric)")
        pz, qz = _dirichlet(5, 9, 2, zeros=True), _dirichlet(5, 9, 3)
        expect_close(as_tensor(fn(pz, qz), "hellinger(p, q)"), divergence(pz, qz, "hellinger"),
                     "hellinger(p, q) with exact zeros in p")
        return "matches l2vkit.concepts.divergence(kind='hellinger'); 0 for p = q, 1 for disjoint p, q; symmetric"

    return run_check("hellinger", body)


def check_kl(fn: Callable) -> bool:
    """Lab (a): ``fn(p, q)`` → KL(p‖q) = Σ p (log p − log q) per row, with 0·log 0 = 0 (add a tiny ε inside logs)."""

    def body():
        import torch

        from ..concepts import divergence

        p, q = _dirichlet(6, 12, 4), _dirichlet(6, 12, 5)
        got = as_tensor(fn(p, q), "kl(p, q)")
        expect_close(got, divergence(p, q, "kl"), "kl(p, q) on 6 random rows", atol=1e-5)
        if (got < -1e-9).any():
            raise CheckFailed("KL must be ≥ 0")
        pz = _dirichlet(5, 9, 6, zeros=True)
        qz = _dirichlet(5, 9, 7)
        expect_close(as_tensor(fn(pz, qz), "kl(p, q)"), divergence(pz, qz, "kl"),
                     "kl(p, q) with exact zeros in p (0·log 0 must count as 0)", atol=1e-5)
        one_hot = torch.eye(3, dtype=torch.float64)
        far = as_tensor(fn(one_hot, one_hot.roll(1, dims=1)), "kl(p, q)")
        if not torch.isfinite(far).all() or (far < 10).any():
            raise CheckFailed(f"for disjoint p, q KL should be huge but finite (ε in the logs), got {far.tolist()}")
        return f"matches the reference; disjoint one-hot rows give KL ≈ {far[0].item():.1f} (unbounded as ε → 0)"

    return run_check("kl", body)


def check_weighted_target(fn: Callable) -> bool:
    """Lab (a): ``fn(v_minus, dv, dw)`` → the regression target G(z, π⁻) + Δω·Δv, Δω one scalar per sample.

    ``v_minus``, ``dv``: (B, C, F, h, w); ``dw``: (B,). The target must not carry gradients (it is ``sg[...]``).
    """

    def body():
        import torch

        g = torch.Generator().manual_seed(0)
        # batch 4 ≠ every other dimension, so a Δω broadcast along the wrong axis fails (or names itself)
        v = torch.randn(4, 2, 2, 3, 5, generator=g, dtype=torch.float64)
        dv = torch.randn(4, 2, 2, 3, 5, generator=g, dtype=torch.float64, requires_grad=True)
        dw = torch.tensor([0.0, 0.5, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
        try:
            out = fn(v, dv, dw)
        except RuntimeError as err:
            if "must match the size" in str(err):
                raise CheckFailed("Δω of shape (B,) broadcasts against the *last* axis of Δv: give it one axis per "
                                  "dimension of Δv, dw.view(-1, 1, 1, 1, 1), so each sample gets its own weight")
            raise
        if not isinstance(out, torch.Tensor):
            raise CheckFailed(f"returned {type(out).__name__}; expected a torch tensor")
        if out.requires_grad:
            raise CheckFailed("the target still requires grad: wrap it in `.detach()` (the sg[·] of the loss)")
        want = v + dw.detach().view(-1, 1, 1, 1, 1) * dv.detach()
        if out.shape == want.shape and torch.allclose(out.to(torch.float64), v + dv.detach(), atol=1e-9):
            raise CheckFailed("the target ignores Δω: weight Δv by each sample's Δω")
        expect_close(out.to(torch.float64), want, "target")
        if not torch.equal(out[0], v[0]):
            raise CheckFailed("a sample with Δω = 0 should keep exactly G(z, π⁻): its target moved")
        return "v⁻ + Δω·Δv per sample, detached; Δω = 0 leaves v⁻ unchanged"

    return run_check("weighted_target", body)
