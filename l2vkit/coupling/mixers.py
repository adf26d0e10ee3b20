"""Φ_Ω1, the global branch: an MLP-Mixer over latent patches, conditioned on π, that writes the VLM's tokens.

Two architectures (``CouplingConfig.architecture``):

- ``"factorised"`` (default): token mixing along time, height and width separately (one small MLP per axis, shared
  across the other axes), then a *separable* resampling of the latent patch grid (T, H, W) onto the VLM's token grid
  (t, h, w) — three matrices t×T, h×H, w×W, initialised as area averages — and ``out_depth`` mixer blocks on that
  grid. Parameters grow with T² + H² + W² + tT + hH + wW (not with N_Ξ · N_Ω) and activations with N_Ξ + N_Ω, so
  Φ for Wan2.1 latents of 33×480×832 frames stays near 100M parameters (``python -m l2vkit.coupling.plan``).
- ``"dense"``: the first release's mixer, whose token-mixing MLPs and output map are N_Ξ × N_Ξ and N_Ξ × N_Ω
  matrices (quadratic in the latent grid); kept so couplings saved by that release still load.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def patch_grid(z, patch):
    """(B, C, F, h, w) → (B, F/pf, h/ph, w/pw, C · pf · ph · pw): non-overlapping latent patches on their grid."""
    b, c, f, h, w = z.shape
    pf, ph, pw = patch
    z = z.reshape(b, c, f // pf, pf, h // ph, ph, w // pw, pw)
    return z.permute(0, 2, 4, 6, 1, 3, 5, 7).reshape(b, f // pf, h // ph, w // pw, c * pf * ph * pw)


def pool_condition(embeds, mask):
    """Masked mean of π over its tokens: (B, L, E) → (B, E)."""
    if mask is None:
        return embeds.mean(1)
    m = mask.to(embeds.dtype).unsqueeze(-1)
    return (embeds * m).sum(1) / m.sum(1).clamp_min(1.0)


def area_weights(size_out: int, size_in: int):
    """(size_out, size_in) rows that average the input cells each output cell covers (adaptive average pooling)."""
    eye = torch.eye(size_in).unsqueeze(0)  # pooling the identity's rows gives the pooling matrix
    return nn.functional.adaptive_avg_pool1d(eye, size_out)[0].T.contiguous()


class _FiLM(nn.Module):
    """Scale and shift pairs from the pooled condition; zero-initialised, so each block starts unconditioned."""

    def __init__(self, width: int, pairs: int):
        super().__init__()
        self.linear = nn.Linear(width, 2 * pairs * width)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, c, dims: int):
        shape = (c.shape[0],) + (1,) * dims + (-1,)
        return [part.reshape(shape) for part in self.linear(c).chunk(self.linear.out_features // c.shape[-1], -1)]


class _AxisMixer(nn.Module):
    """An MLP over one axis (length n) of a (B, T, H, W, C) grid, shared along the other axes and the channels."""

    def __init__(self, length: int, axis: int):
        super().__init__()
        self.axis = axis
        self.mlp = nn.Sequential(nn.Linear(length, 2 * length), nn.GELU(), nn.Linear(2 * length, length))

    def forward(self, h):
        return self.mlp(h.movedim(self.axis, -1)).movedim(-1, self.axis)


class FactorisedMixerBlock(nn.Module):
    """Token mixing along each axis of the grid with more than one cell (summed), then channel mixing; both pre-normed
    and FiLM-modulated by the pooled condition."""

    def __init__(self, grid: tuple, width: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False)
        self.axes = nn.ModuleList(_AxisMixer(n, axis) for axis, n in zip((1, 2, 3), grid) if n > 1)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False)
        self.channels = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))
        self.film = _FiLM(width, 2)

    def forward(self, x, c):
        s1, b1, s2, b2 = self.film(c, 3)
        h = self.norm1(x) * (1 + s1) + b1
        for mixer in self.axes:
            x = x + mixer(h)
        h = self.norm2(x) * (1 + s2) + b2
        return x + self.channels(h)


class _Positions(nn.Module):
    """Factorised positions: one learned vector per time, row and column index, summed (T + H + W vectors)."""

    def __init__(self, grid: tuple, width: int):
        super().__init__()
        self.t, self.h, self.w = (nn.Parameter(torch.zeros(n, width)) for n in grid)

    def forward(self):
        return self.t[:, None, None] + self.h[None, :, None] + self.w[None, None, :]


class FactorisedGlobalBranch(nn.Module):
    """Φ_Ω1 with cost linear in the latent and VLM token counts (see the module docstring)."""

    #: Recompute each block in the backward pass instead of keeping its activations (``Coupling.gradient_checkpointing``)
    checkpoint = False

    def __init__(self, cfg):
        super().__init__()
        c = cfg.latent_shape[0]
        self.patch = cfg.patch
        grid_in = cfg.latent_grid
        self.grid_out = cfg.output_grid
        self.embed = nn.Linear(c * math.prod(cfg.patch), cfg.width)
        self.position = _Positions(grid_in, cfg.width)
        self.condition = nn.Sequential(nn.Linear(cfg.text_dim, cfg.width), nn.GELU(), nn.Linear(cfg.width, cfg.width))
        self.blocks = nn.ModuleList(FactorisedMixerBlock(grid_in, cfg.width) for _ in range(cfg.mixer_depth))
        # latent patch grid → VLM token grid, one axis at a time
        self.resample_t, self.resample_h, self.resample_w = (
            nn.Parameter(area_weights(n_out, n_in)) for n_out, n_in in zip(self.grid_out, grid_in))
        self.out_position = _Positions(self.grid_out, cfg.width)
        self.out_blocks = nn.ModuleList(FactorisedMixerBlock(self.grid_out, cfg.width) for _ in range(cfg.out_depth))
        # tokens after the grid (e.g. a newline token): a learned vector each, shifted by the grid's mean
        self.extra = nn.Parameter(torch.zeros(cfg.extra_tokens, cfg.width)) if cfg.extra_tokens else None
        self.extra_from_mean = nn.Linear(cfg.width, cfg.width) if cfg.extra_tokens else None
        self.norm = nn.LayerNorm(cfg.width)
        self.out = nn.Linear(cfg.width, cfg.token_dim)

    def forward(self, z, embeds, mask=None):
        x = self.embed(patch_grid(z, self.patch)) + self.position()
        c = self.condition(pool_condition(embeds, mask))
        for block in self.blocks:
            x = self._run(block, x, c)
        x = torch.einsum("bthwc,it->bihwc", x, self.resample_t)
        x = torch.einsum("bthwc,jh->btjwc", x, self.resample_h)
        x = torch.einsum("bthwc,kw->bthkc", x, self.resample_w) + self.out_position()
        for block in self.out_blocks:
            x = self._run(block, x, c)
        x = x.flatten(1, 3)  # tokens in (t, h, w) raster order, as the VLM lays them out
        if self.extra is not None:
            x = torch.cat([x, self.extra + self.extra_from_mean(x.mean(1)).unsqueeze(1)], dim=1)
        return self.out(self.norm(x))

    def _run(self, block, x, c):
        if self.checkpoint and torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint

            return checkpoint(block, x, c, use_reentrant=False)
        return block(x, c)


class _DenseMixerBlock(nn.Module):
    """The first release's block: token mixing by an N_Ξ × 2N_Ξ MLP over all latent patches at once."""

    def __init__(self, tokens: int, width: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False)
        self.tokens = nn.Sequential(nn.Linear(tokens, 2 * tokens), nn.GELU(), nn.Linear(2 * tokens, tokens))
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False)
        self.channels = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))
        self.film = nn.Linear(width, 4 * width)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x, c):
        s1, b1, s2, b2 = self.film(c).unsqueeze(1).chunk(4, dim=-1)
        h = self.norm1(x) * (1 + s1) + b1
        x = x + self.tokens(h.transpose(1, 2)).transpose(1, 2)
        h = self.norm2(x) * (1 + s2) + b2
        return x + self.channels(h)


class DenseGlobalBranch(nn.Module):
    """Φ_Ω1 of the first release (``architecture="dense"``): quadratic in the latent grid; loads old files."""

    def __init__(self, cfg):
        super().__init__()
        c = cfg.latent_shape[0]
        self.patch = cfg.patch
        n_in = cfg.latent_tokens
        self.embed = nn.Linear(c * math.prod(cfg.patch), cfg.width)
        self.position = nn.Parameter(torch.zeros(1, n_in, cfg.width))
        self.condition = nn.Sequential(nn.Linear(cfg.text_dim, cfg.width), nn.GELU(), nn.Linear(cfg.width, cfg.width))
        self.blocks = nn.ModuleList(_DenseMixerBlock(n_in, cfg.width) for _ in range(cfg.mixer_depth))
        self.to_tokens = nn.Linear(n_in, cfg.tokens)
        self.norm = nn.LayerNorm(cfg.width)
        self.out = nn.Linear(cfg.width, cfg.token_dim)

    def forward(self, z, embeds, mask=None):
        x = self.embed(patch_grid(z, self.patch).flatten(1, 3)) + self.position
        c = self.condition(pool_condition(embeds, mask))
        for block in self.blocks:
            x = block(x, c)
        x = self.to_tokens(x.transpose(1, 2)).transpose(1, 2)
        return self.out(self.norm(x))


BRANCHES = {"factorised": FactorisedGlobalBranch, "dense": DenseGlobalBranch}
