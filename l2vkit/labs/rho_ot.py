"""Lab (b), one ρ-OT step: checkers for the student's cost matrix, log-domain Sinkhorn and ρ-OT merge, against
l2vkit's own solvers and POT."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .checking import CheckFailed, as_tensor, expect_close, expect_shape, run_check


def check_cost_matrix(fn: Callable) -> bool:
    """Lab (b): ``fn(a, b)`` → M_ij = (a_i − b_j)², divided by its mean, for (..., N1) and (..., N2) inputs."""

    def body():
        import torch

        from ..coupling.transport import cost_matrix

        g = torch.Generator().manual_seed(1)
        a, b = torch.randn(5, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
        expect_close(as_tensor(fn(a, b), "cost(a, b)"), cost_matrix(a, b), "cost(a, b) for N1 = 5, N2 = 7")
        A, B = torch.randn(3, 4, 6, generator=g, dtype=torch.float64), torch.randn(3, 4, 5, generator=g,
                                                                                   dtype=torch.float64)
        got = as_tensor(fn(A, B), "cost(a, b)")
        expect_close(got, cost_matrix(A, B), "cost(a, b) for a batch (3, 4) of problems — normalise each "
                                             "problem by its own mean (dim=(-2, -1))")
        return "squared differences normalised by each problem's mean cost; batched"

    return run_check("cost_matrix", body)


def check_sinkhorn(fn: Callable) -> bool:
    """Lab (b): ``fn(M, reg, n_iter)`` → the entropic plan T (..., N1, N2) with uniform marginals, log-domain.

    Compared with POT's ``ot.sinkhorn`` (converged), with :func:`l2vkit.coupling.transport.sinkhorn_log` after a
    few iterations, and at a tiny ``reg`` where the plain (non-log) Sinkhorn underflows.
    """

    def body():
        import ot
        import torch

        from ..coupling.transport import cost_matrix, sinkhorn_log

        g = torch.Generator().manual_seed(2)
        a, b = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(9, generator=g, dtype=torch.float64)
        M = cost_matrix(a, b)
        T = as_tensor(fn(M, 0.1, 2000), "sinkhorn(M, reg, n_iter)")
        expect_shape(T, (6, 9), "the plan")
        if not torch.isfinite(T).all() or (T < 0).any():
            raise CheckFailed("the plan must be finite and non-negative")
        if abs(T.sum().item() - 1) > 1e-6:
            raise CheckFailed(f"the plan's entries should sum to 1 (uniform marginals 1/N1, 1/N2), got {T.sum():.6f}")
        ref = torch.as_tensor(ot.sinkhorn(np.full(6, 1 / 6), np.full(9, 1 / 9), M.numpy(), 0.1, stopThr=1e-13,
                                          numItermax=100_000))
        expect_close(T, ref, "converged plan vs POT's ot.sinkhorn(a, b, M, reg=0.1)", atol=1e-7)
        few, _ = sinkhorn_log(M, 0.1, n_iter=3)
        expect_close(as_tensor(fn(M, 0.1, 3), "sinkhorn"), few.exp(),
                     "the plan after n_iter=3 (update f (rows) first, then g (columns), in each iteration)",
                     atol=1e-8)
        batch = cost_matrix(torch.randn(4, 5, generator=g, dtype=torch.float64),
                            torch.randn(4, 7, generator=g, dtype=torch.float64))
        expect_close(as_tensor(fn(batch, 0.2, 10), "sinkhorn"), sinkhorn_log(batch, 0.2, n_iter=10)[0].exp(),
                     "a batch of 4 problems (leading dimensions are independent problems)", atol=1e-8)
        # No two points close: every entry of exp(−M/reg) underflows to 0 at reg = 1e-4.
        far = cost_matrix(torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64),
                          torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64))
        tiny = as_tensor(fn(far, 1e-4, 50), "sinkhorn(M, reg=1e-4)")
        if not torch.isfinite(tiny).all() or abs(tiny.sum().item() - 1) > 1e-6:
            raise CheckFailed("at reg = 1e-4 the plan has NaN/inf or lost its mass: exp(−M/reg) underflows to 0 — "
                              "stay in log space (torch.logsumexp) and exponentiate only at the end")
        return "matches POT at convergence and l2vkit's log-domain Sinkhorn step by step; batched; stable at reg=1e-4"

    return run_check("sinkhorn", body)


def _diagnose_rho_ot(got, want, rho, z1, z2, cfg) -> None:
    """Name the mistake when ``got`` is what a plausible wrong ρ-OT step gives (each has its own hint)."""
    import torch

    from ..coupling.transport import entropic_transport

    if got.shape != want.shape:
        return
    t1, t2 = rho.projections()
    with torch.no_grad():
        a, b = torch.einsum("bnd,pd->bpn", z1, t1), torch.einsum("bnd,pd->bpn", z2, t2)
        raw_a = torch.einsum("bnd,pd->bpn", z1, rho.theta1)
        raw_b = torch.einsum("bnd,pd->bpn", z2, rho.theta2)
        mistakes = [
            (want / z2.shape[1], "z̃ is N2 times too small: each column of a plan sums to 1/N2, so scale the transport "
                                 "by N2 to make every output token a weighted average of z1's tokens"),
            (entropic_transport(z2, a, b, cfg.reg, n_iter=cfg.sinkhorn_iters),
             "you transported z2; ρ-OT moves the global branch's tokens z1 to the local branch's positions (Tᵀ z1)"),
            (entropic_transport(z1, raw_a, raw_b, cfg.reg, n_iter=cfg.sinkhorn_iters),
             "normalise θ¹ and θ² to unit length (per projection) before projecting"),
        ]
    for wrong, hint in mistakes:
        if torch.allclose(got, wrong, atol=1e-6):
            raise CheckFailed(hint)


def check_rho_ot_step(fn: Callable) -> bool:
    """Lab (b): ``fn(z1, z2, theta1, theta2, reg, n_iter)`` → z̃ (B, N2, D), one ρ-OT merge.

    Project both branches on the P normalised directions (a = ⟨θ¹_p, z1_i⟩, b = ⟨θ²_p, z2_j⟩), build the normalised
    cost per projection, run ``n_iter`` Sinkhorn iterations, transport z̃ = (1/P) Σ_p N2·T_pᵀ z1. Compared with
    :class:`l2vkit.coupling.networks.RhoOT` (the module the shipped coupling uses).
    """

    def body():
        import torch

        from ..coupling.networks import CouplingConfig, RhoOT

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
        got = as_tensor(out, "rho_ot_step(...)")
        with torch.no_grad():
            want = rho(z1, z2)
        _diagnose_rho_ot(got, want, rho, z1, z2, cfg)
        expect_close(got, want, "z̃ vs l2vkit's RhoOT", atol=1e-7)
        z2_short = torch.randn(2, 4, 6, generator=g, dtype=torch.float64)
        with torch.no_grad():
            want = rho(z1, z2_short)
        expect_close(as_tensor(fn(z1, z2_short, rho.theta1.detach(), rho.theta2.detach(), cfg.reg, cfg.sinkhorn_iters),
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

    return run_check("rho_ot_step", body)
