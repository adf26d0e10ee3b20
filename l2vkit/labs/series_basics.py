"""Checkers for the exercises inside notebooks 01–03 (the VLM side, the generator side, the coupling).

Each takes the student's function, runs it on small tensors built here, compares it with l2vkit's own code, and
names the plausible mistakes it recognises (tests/test_notebook_exercises.py holds at least two wrong answers per
checker).
"""
from __future__ import annotations

from typing import Callable

from .checking import CheckFailed, as_tensor, expect_close, expect_shape, run_check


def _randn(*shape, seed: int):
    import torch

    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def check_renormalise(fn: Callable) -> bool:
    """Notebook 01: ``fn(candidates)`` → ω, the two-word (K-word) distribution: each row of the candidates'
    probabilities (B, K) divided by its sum (what ``TokenProbs.renormalised`` holds)."""

    def body():
        import torch

        p = torch.tensor([[0.30, 0.10, 0.05], [0.02, 0.01, 0.01], [0.20, 0.20, 0.40], [0.0, 0.6, 0.0]],
                         dtype=torch.float64)  # 4 prompts × 3 words: rows sum to less than 1 (the rest: other words)
        got = as_tensor(fn(p.clone()), "renormalise(candidates)")
        expect_shape(got, p.shape, "ω (one row per prompt, one column per word)")
        if torch.allclose(got, torch.softmax(p, -1)):
            raise CheckFailed("that is a softmax of probabilities: they are probabilities already (softmax is for "
                              "logits); divide each row by its sum")
        if torch.allclose(got.sum(0), torch.ones(3, dtype=got.dtype)):
            raise CheckFailed("your columns sum to 1: you normalised over the prompts (axis 0); normalise over the "
                              "words, the last axis (sum(-1, keepdim=True))")
        if not torch.allclose(got.sum(-1), torch.ones(4, dtype=got.dtype)):
            raise CheckFailed(f"each row of ω must sum to 1, yours sum to {[round(x, 3) for x in got.sum(-1).tolist()]}")
        expect_close(got, p / p.sum(-1, keepdim=True), "ω")
        return "rows divided by their sums: the ratios between words are kept, the rest of the vocabulary dropped"

    return run_check("renormalise", body)


def check_x0_estimate(fn: Callable) -> bool:
    """Notebook 02: ``fn(z, v, sigma)`` → x̂0 = z − σ·v, the clean latent the model predicts at noise level σ
    (flow matching: z_σ = (1 − σ)·x0 + σ·ε, v = ε − x0)."""

    def body():
        from ..generator.schedule import ScheduleMixin

        z, v = _randn(2, 4, 3, 2, 2, seed=0), _randn(2, 4, 3, 2, 2, seed=1)
        for sigma in (0.3, 1.0, 0.0):
            got = as_tensor(fn(z.clone(), v.clone(), sigma), f"x0_estimate(z, v, σ={sigma})")
            expect_shape(got, z.shape, "x̂0")
            if sigma and got.allclose(z + sigma * v):
                raise CheckFailed("wrong sign: with v = ε − x0, going from z_σ back to x0 removes σ·v (z − σ·v)")
            if sigma != 0.5 and got.allclose(z - (1 - sigma) * v):
                raise CheckFailed("σ weighs the noise in z_σ = (1 − σ)·x0 + σ·ε, so x̂0 = z − σ·v, not z − (1 − σ)·v")
            expect_close(got, ScheduleMixin.x0_estimate(z, v, sigma), f"x̂0 at σ = {sigma}")
        return "z − σ·v: σ = 0 keeps z (already clean), σ = 1 gives z − v (pure noise minus the velocity)"

    return run_check("x0_estimate", body)


def check_euler_step(fn: Callable) -> bool:
    """Notebook 02: ``fn(z, v, sigma, sigma_next)`` → one Euler step of the flow, z + (σ_next − σ)·v (what
    diffusers' ``FlowMatchEulerDiscreteScheduler.step`` computes)."""

    def body():
        z, v = _randn(1, 4, 2, 3, 3, seed=2), _randn(1, 4, 2, 3, 3, seed=3)
        sigma, sigma_next = 0.8, 0.6
        got = as_tensor(fn(z.clone(), v.clone(), sigma, sigma_next), "euler_step(z, v, σ, σ_next)")
        expect_shape(got, z.shape, "z_next")
        if got.allclose(z - (sigma_next - sigma) * v):
            raise CheckFailed("wrong sign: σ falls during sampling, so σ_next − σ is negative and the step moves "
                              "against v (towards the data): z + (σ_next − σ)·v")
        if got.allclose(z - sigma * v):
            raise CheckFailed("that jumps straight to x̂0 = z − σ·v; one step only goes from σ to σ_next")
        expect_close(got, z + (sigma_next - sigma) * v, "z_next")
        same = as_tensor(fn(z.clone(), v.clone(), 0.5, 0.5), "euler_step with σ_next = σ")
        expect_close(same, z, "a step of size 0 (σ_next = σ)")
        return "z + (σ_next − σ)·v; a step of size 0 leaves z unchanged"

    return run_check("euler_step", body)


def check_token_cosine(fn: Callable) -> bool:
    """Notebook 03: ``fn(predicted, target)`` for (B, N, D) visual tokens → the ablation table's *cos* per
    sample (B,): the cosine of each predicted token with its target token, averaged over the N tokens."""

    def body():
        import torch

        pred, target = _randn(3, 5, 8, seed=4), _randn(3, 5, 8, seed=5)
        pred[:, 0] *= 40  # one loud token: a cosine of the flattened tokens is dominated by it
        target[:, 0] = pred[:, 0] * 2 + _randn(3, 8, seed=6)
        got = as_tensor(fn(pred.clone(), target.clone()), "token_cosine(predicted, target)")
        if tuple(got.shape) == (3, 8):
            raise CheckFailed("shape (B, D): you took the cosine along the token axis; compare each token's "
                              "D-vector with its target's (dim=-1), then average over the tokens")
        expect_shape(got, (3,), "one score per sample")
        flat = torch.nn.functional.cosine_similarity(pred.flatten(1), target.flatten(1), dim=-1)
        if got.allclose(flat):
            raise CheckFailed("that is the cosine of all tokens flattened into one vector, which the loudest "
                              "tokens dominate; take one cosine per token (dim=-1), then the mean over tokens")
        per_token = torch.nn.functional.cosine_similarity(pred, target, dim=-1)
        if got.allclose(per_token.sum(-1)):
            raise CheckFailed("you summed the per-token cosines: average them over the N tokens (mean), so the score "
                              "stays in [−1, 1] whatever the number of tokens")
        if (got.abs() > 1 + 1e-9).any():
            raise CheckFailed("a cosine lies in [−1, 1]: divide each dot product by both tokens' norms")
        expect_close(got, per_token.mean(-1), "the per-sample cosine")
        return "one cosine per token, averaged over tokens (as l2vkit.toyworld.ablation scores Φ)"

    return run_check("token_cosine", body)
