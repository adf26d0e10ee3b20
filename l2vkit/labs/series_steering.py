"""Checkers for the exercises inside notebooks 04–07 (attribute, adverb and scene steering; metrics).

Each takes the student's function, runs it on small inputs built here, compares it with l2vkit's own code, and
names the plausible mistakes it recognises (tests/test_notebook_exercises.py holds at least two wrong answers per
checker).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .checking import CheckFailed, as_tensor, expect_close, expect_shape, run_check


def check_steered_condition(fn: Callable) -> bool:
    """Notebook 04: ``fn(base, q, phi)`` → π⁻ + φ·q: the caption's condition embeddings ``base`` (B, L, E) with
    the concept vector ``q`` (L, E) added at strength φ to every caption of the batch."""

    def body():
        import torch

        from ..steering import steered_condition
        from ..generator.condition import Condition

        g = torch.Generator().manual_seed(0)
        base = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
        q = 3 * torch.randn(3, 4, generator=g, dtype=torch.float64)  # ‖q‖ ≠ 1: normalising it shows
        for phi in (0.5, -1.5, 0.0):
            got = as_tensor(fn(base.clone(), q.clone(), phi), f"steer(base, q, φ={phi})")
            expect_shape(got, base.shape, "the steered condition (same shape as base)")
            if phi and got.allclose(phi * (base + q)):
                raise CheckFailed("φ scales the concept vector only: π⁻ + φ·q, not φ·(π⁻ + q) (which also scales "
                                  "the caption)")
            if phi and got.allclose(base + phi * q / q.norm()):
                raise CheckFailed("q is used as trained, not normalised: its length is part of what it learnt "
                                  "(φ = 1 is the trained strength)")
            if phi == 0.5 and got.allclose(base + q):
                raise CheckFailed("the strength φ is ignored: multiply q by φ")
            want = steered_condition(Condition(base), {"pair": phi}, {"pair": q}).embeds
            expect_close(got, want, f"π⁻ + φ·q at φ = {phi}")
        return "π⁻ + φ·q for φ = 0 (π⁻ itself), 0.5 and −1.5 (the other way), as l2vkit.steering.steered_condition"

    return run_check("steered_condition", body)


def check_window_steps(fn: Callable) -> bool:
    """Notebook 05: ``fn(steps, start, end)`` → the sampling steps (counted from 0) that a window (start, end) of
    fractions covers: step i when start ≤ i/steps < end."""

    def body():
        from ..steering import steps_in_window

        for steps, window in ((10, (0.3, 0.7)), (25, (0.0, 0.3)), (25, (0.7, 1.0)), (8, (0.0, 1.0))):
            got = fn(steps, *window)
            try:
                got = [int(i) for i in got]
            except (TypeError, ValueError):
                raise CheckFailed(f"returned {type(got).__name__}; expected a list of step numbers") from None
            want = steps_in_window(window, steps)
            if got != want and got == [i + 1 for i in want]:
                raise CheckFailed("steps are counted from 0 (step 0 is the first, noisiest one); yours start at 1")
            if got != want and got == [i for i in range(steps) if window[0] <= i / steps <= window[1]]:
                raise CheckFailed(f"window {window} of {steps} steps: the end is excluded (start ≤ i/steps < end), "
                                  "so windows that meet, like (0, 0.3) and (0.3, 0.7), share no step")
            if got != want:
                raise CheckFailed(f"window {window} of {steps} steps: got {got}, expected {want}")
        return "start ≤ i/steps < end, from step 0; (0, 1) covers every step"

    return run_check("window_steps", body)


def check_latent_frames(fn: Callable) -> bool:
    """Notebook 06: ``fn(frame_mask, latent_frames)`` → which latent frames to steer (F booleans) for a mask over
    T = 4(F − 1) + 1 video frames: Wan's causal VAE keeps video frame 0 alone in latent frame 0, and latent frame
    f ≥ 1 decodes to video frames 4f − 3 … 4f; a latent frame is steered when any of its video frames is."""

    def body():
        from ..steering import video_to_latent_frame_mask

        cases = [np.arange(17) >= 9, np.arange(17) == 4, np.arange(17) < 1, (np.arange(9) % 2) == 0]
        for mask in cases:
            latent = (mask.size - 1) // 4 + 1
            got = np.asarray(fn(mask.copy(), latent))
            expect_shape(got, (latent,), f"the latent mask for {mask.size} video frames")
            got = got.astype(bool)
            want = video_to_latent_frame_mask(mask, latent)
            grouped = np.array([mask[4 * f:4 * f + 4].any() for f in range(latent)])
            if not np.array_equal(got, want) and np.array_equal(got, grouped):
                raise CheckFailed("latent frame f is not video frames 4f … 4f+3: the causal VAE encodes frame 0 "
                                  "alone, so latent f ≥ 1 holds frames 4f − 3 … 4f")
            strict = np.array([mask[:1].all()] + [mask[4 * f - 3:4 * f + 1].all() for f in range(1, latent)])
            if not np.array_equal(got, want) and np.array_equal(got, strict):
                raise CheckFailed("a latent frame is steered when *any* of its video frames is (any, not all): "
                                  "it decodes to all of them")
            if not np.array_equal(got, want):
                raise CheckFailed(f"mask of video frames {np.flatnonzero(mask).tolist()}: got latent frames "
                                  f"{np.flatnonzero(got).tolist()}, expected {np.flatnonzero(want).tolist()}")
        return "frame 0 → latent 0, frames 4f − 3 … 4f → latent f, any-of"

    return run_check("latent_frames", body)


def check_spearman(fn: Callable) -> bool:
    """Notebook 07: ``fn(phis, values)`` → Spearman's ρ between φ and one seed's series (the monotonicity column):
    Pearson's r of the ranks, tied values sharing their average rank; ``nan`` for a constant series."""

    def body():
        from ..metrics.monotonicity import monotonicity

        def rho(values) -> float:
            got = fn(phis, values)
            try:
                return float(got)
            except (TypeError, ValueError):
                raise CheckFailed(f"returned {type(got).__name__}; return one number (with scipy.stats.spearmanr, its "
                                  "`.statistic`)") from None

        phis = [0.0, 0.25, 0.5, 0.75, 1.0]
        curve = [0.01, 0.02, 0.05, 0.3, 0.99]  # monotone, far from linear
        got = rho(curve)
        if math.isclose(got, float(np.corrcoef(phis, curve)[0, 1]), abs_tol=1e-9):
            raise CheckFailed(f"{got:.3f} is Pearson's r of the values, which measures a straight line; a monotone "
                              "curve should give 1 — correlate the ranks")
        for values in (curve, [0.0, 0.0, 0.5, 0.5, 1.0], [1.0, 0.75, 0.75, 0.0, 0.25], [0.4, 0.4, 0.4, 0.4, 0.4]):
            got = rho(values)
            want = monotonicity(phis, [values])[1][0]
            if math.isnan(want):
                if not math.isnan(got):
                    raise CheckFailed(f"a constant series {values} has no ranks to correlate: return nan (the "
                                      f"library leaves such seeds out of the mean), got {got}")
                continue
            if not math.isclose(got, want, abs_tol=1e-9):
                ties = len(set(values)) < len(values)
                raise CheckFailed(f"for {values} got {got:.4f}, expected {want:.4f}"
                                  + (" — tied values must share their average rank (scipy.stats.rankdata)"
                                     if ties else ""))
        return "ranks correlated, ties averaged, nan when constant (as l2vkit.metrics.monotonicity)"

    return run_check("spearman", body)
