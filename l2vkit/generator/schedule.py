"""The σ grid a generator's pipeline runs, and the flow-matching identities on it (a mixin of
:class:`~l2vkit.generator.VideoGenerator`)."""
from __future__ import annotations

import copy

import numpy as np

#: The largest classifier-free guidance scale accepted: far beyond any model's useful range (3–8), low enough that
#: the guided velocity cannot overflow the dtypes it is computed in.
GUIDANCE_MAX = 100.0


class ScheduleMixin:
    """``timesteps``, ``sigmas``, ``x0_estimate`` and step / guidance checking of :class:`~l2vkit.generator.VideoGenerator`."""

    # ----------------------------------------------------------------------------------------- σ grid
    def scheduler_copy(self, steps: int | None = None, *, frames=None, height=None, width=None):
        """A copy of the pipeline's scheduler set to the grid the pipeline runs (for stepping by hand, e.g. tests)."""
        steps = self.check_steps(steps)
        scheduler = copy.deepcopy(self.pipe.scheduler)
        self._set_timesteps(scheduler, steps, *self._size(frames, height, width))
        return scheduler

    def _schedule(self, steps: int, frames: int, height: int, width: int):
        """(timesteps, sigmas) the pipeline will use, computed on a copy of its scheduler."""
        import torch

        scheduler = copy.deepcopy(self.pipe.scheduler)
        self._set_timesteps(scheduler, steps, frames, height, width)
        return (scheduler.timesteps.detach().cpu().clone(),
                torch.as_tensor(scheduler.sigmas).detach().float().cpu().clone())

    def timesteps(self, steps: int | None = None, *, frames=None, height=None, width=None):
        """The (steps,) timesteps the pipeline's scheduler runs for this many steps (and video size, for LTX)."""
        steps = self.check_steps(steps)
        return self._schedule(steps, *self._size(frames, height, width))[0]

    def sigmas(self, steps: int | None = None, *, frames=None, height=None, width=None):
        """The scheduler's σ grid for ``steps``: (steps + 1,) float tensor from ≈1 (noise) down to 0 (clean)."""
        steps = self.check_steps(steps)
        return self._schedule(steps, *self._size(frames, height, width))[1]

    def sigma_of(self, t) -> float:
        """σ for a timestep value: ``t / num_train_timesteps`` (exact for flow-matching Euler schedulers)."""
        return float(t) / self.num_train_timesteps

    @staticmethod
    def x0_estimate(z_t, v, sigma):
        """The clean-latent estimate x̂0 = z_t − σ·v under ``z_t = (1 − σ) x0 + σ ε`` and ``v = ε − x0``.

        ``sigma``: a number, or a tensor broadcastable to ``z_t`` (e.g. one per batch element of shape (B,)).

        >>> import torch
        >>> x0, eps, s = torch.ones(1, 2, 1, 1, 1), torch.zeros(1, 2, 1, 1, 1), 0.3
        >>> bool(torch.allclose(ScheduleMixin.x0_estimate((1 - s) * x0 + s * eps, eps - x0, s), x0))
        True
        """
        import torch

        if isinstance(sigma, torch.Tensor) and sigma.ndim == 1 and z_t.ndim > 1:
            sigma = sigma.view(-1, *([1] * (z_t.ndim - 1)))
        return z_t - sigma * v

    def check_guidance(self, guidance) -> float:
        """``guidance`` (``None``: this generator's default) checked to be a finite number in [0, GUIDANCE_MAX]:
        NaN or a negative scale would run unguided without a word, and a huge one overflows into a black video."""
        import math

        guidance = self.guidance if guidance is None else guidance
        if isinstance(guidance, bool) or not isinstance(guidance, (int, float, np.integer, np.floating)) \
                or not math.isfinite(guidance) or not 0 <= guidance <= GUIDANCE_MAX:
            raise ValueError(f"guidance={guidance!r}; expected a finite number in [0, {GUIDANCE_MAX:g}] (1 or less "
                             "means no guidance; the models' usual scales are 3–8)")
        return float(guidance)

    @staticmethod
    def check_seed(seed) -> int:
        """``seed`` checked to be a whole number in [0, 2**63 − 1], the range a CPU ``torch.Generator`` seed
        round-trips through (a negative one wraps around and 2**64 overflows with an unclear error)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        if not 0 <= seed < 2 ** 63:
            raise ValueError(f"seed={seed}; give a whole number from 0 to 2**63 - 1")
        return int(seed)

    def check_steps(self, steps) -> int:
        """``steps`` (``None``: this generator's default) checked to be a positive integer."""
        steps = self.steps if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ValueError(f"steps={steps!r}; expected a positive integer")
        return int(steps)
