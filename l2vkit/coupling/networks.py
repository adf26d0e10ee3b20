"""The coupling network Φ: the global branch Φ_Ω1, the local branch Φ_Ω2 and the ρ-OT merge (docs/method.md).

Shapes: generator latents ``z`` (B, C, F, h, w) with condition π (B, L, E) and mask (B, L); VLM visual tokens
(B, N, D). Everything inside works on *standardised* VLM tokens (per-channel mean/std of the training targets,
kept as buffers), so losses and the OT cost have the same scale for any VLM.
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

#: How the branches are combined into z̃_Ω. "rho_ot" is the method; the others are the paper's ablations.
MERGES = ("rho_ot", "rho_ot_sorted", "global", "local", "mean")
#: Merges that need the local branch, i.e. E_Ω(D_Ξ(z)) — a decode and a VLM encode per read.
NEEDS_LOCAL = ("rho_ot", "rho_ot_sorted", "local", "mean")


@dataclasses.dataclass
class CouplingConfig:
    """Sizes of Φ. ``latent_shape`` (C, F, h, w), ``text_dim`` E, ``tokens`` N and ``token_dim`` D of z_Ω.

    Paper depths are 24 (mixer) and 12 (transformer); the toy defaults are much smaller.
    """

    latent_shape: tuple
    text_dim: int
    tokens: int
    token_dim: int
    patch: tuple = (1, 2, 2)
    width: int = 128
    mixer_depth: int = 4
    local_depth: int = 2
    heads: int = 4
    projections: int = 100
    reg: float = 0.05
    sinkhorn_iters: int = 10
    merge: str = "rho_ot"

    def __post_init__(self):
        self.latent_shape = tuple(int(s) for s in self.latent_shape)
        self.patch = tuple(int(p) for p in self.patch)
        if len(self.latent_shape) != 4:
            raise ValueError(f"latent_shape={self.latent_shape}; expected (C, F, h, w)")
        if len(self.patch) != 3 or any(s % p for s, p in zip(self.latent_shape[1:], self.patch)):
            raise ValueError(f"patch={self.patch} does not tile the latent grid {self.latent_shape[1:]}")
        if self.merge not in MERGES:
            raise ValueError(f"merge={self.merge!r}; choose one of {', '.join(MERGES)}")
        if self.projections < 1 or self.reg <= 0 or self.sinkhorn_iters < 1:
            raise ValueError("projections and sinkhorn_iters must be ≥ 1 and reg > 0")

    @property
    def latent_tokens(self) -> int:
        f, h, w = (s // p for s, p in zip(self.latent_shape[1:], self.patch))
        return f * h * w

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def patchify(z, patch):
    """(B, C, F, h, w) → (B, F/pf · h/ph · w/pw, C · pf · ph · pw) non-overlapping latent patches."""
    b, c, f, h, w = z.shape
    pf, ph, pw = patch
    z = z.reshape(b, c, f // pf, pf, h // ph, ph, w // pw, pw)
    return z.permute(0, 2, 4, 6, 1, 3, 5, 7).reshape(b, (f // pf) * (h // ph) * (w // pw), c * pf * ph * pw)


def pool_condition(embeds, mask):
    """Masked mean of π over its tokens: (B, L, E) → (B, E)."""
    if mask is None:
        return embeds.mean(1)
    m = mask.to(embeds.dtype).unsqueeze(-1)
    return (embeds * m).sum(1) / m.sum(1).clamp_min(1.0)


def gram(tokens):
    """H(z) = z zᵀ / D: pairwise token inner products, (B, N, D) → (B, N, N)."""
    return tokens @ tokens.transpose(1, 2) / tokens.shape[-1]


class _MixerBlock(nn.Module):
    """Token-mixing MLP then channel-mixing MLP, each pre-normed and modulated (FiLM) by the pooled condition."""

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


class GlobalBranch(nn.Module):
    """Φ_Ω1: an MLP-Mixer over latent patches conditioned on π, mapped to N tokens of width D (MSE-trained)."""

    def __init__(self, cfg: CouplingConfig):
        super().__init__()
        c = cfg.latent_shape[0]
        self.patch = cfg.patch
        n_in = cfg.latent_tokens
        self.embed = nn.Linear(c * math.prod(cfg.patch), cfg.width)
        self.position = nn.Parameter(torch.zeros(1, n_in, cfg.width))
        self.condition = nn.Sequential(nn.Linear(cfg.text_dim, cfg.width), nn.GELU(), nn.Linear(cfg.width, cfg.width))
        self.blocks = nn.ModuleList(_MixerBlock(n_in, cfg.width) for _ in range(cfg.mixer_depth))
        self.to_tokens = nn.Linear(n_in, cfg.tokens)  # mixes latent positions into the VLM's token positions
        self.norm = nn.LayerNorm(cfg.width)
        self.out = nn.Linear(cfg.width, cfg.token_dim)

    def forward(self, z, embeds, mask=None):
        x = self.embed(patchify(z, self.patch)) + self.position
        c = self.condition(pool_condition(embeds, mask))
        for block in self.blocks:
            x = block(x, c)
        x = self.to_tokens(x.transpose(1, 2)).transpose(1, 2)
        return self.out(self.norm(x))


class LocalBranch(nn.Module):
    """Φ_Ω2: a Transformer refining E_Ω(D_Ξ(z)) tokens (Gram-trained); a residual that starts as the identity."""

    def __init__(self, cfg: CouplingConfig):
        super().__init__()
        self.embed = nn.Linear(cfg.token_dim, cfg.width)
        self.position = nn.Parameter(torch.zeros(1, cfg.tokens, cfg.width))
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, 2 * cfg.width, dropout=0.0, batch_first=True,
                                           norm_first=True, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, cfg.local_depth, enable_nested_tensor=False)
        self.out = nn.Linear(cfg.width, cfg.token_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, tokens):
        return tokens + self.out(self.encoder(self.embed(tokens) + self.position))


class RhoOT(nn.Module):
    """ρ-OT: P learned unit projections per branch; one 1-D entropic (or exact sorted) plan per projection.

    a_i = ⟨θ¹_p, ẑ1_i⟩, b_j = ⟨θ²_p, ẑ2_j⟩, M_ij = (a_i − b_j)² (normalised by its mean), T_p ∝ exp(−M/ς) from
    ``sinkhorn_iters`` log-domain Sinkhorn steps with uniform marginals. The P plans are combined by averaging the
    transported tokens: z̃_j = (1/P) Σ_p Σ_i N·T_p,ij ẑ1_i — every output token is a convex combination of global-branch
    tokens placed at the local branch's positions.
    """

    def __init__(self, cfg: CouplingConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.reg = cfg.reg
        self.iters = cfg.sinkhorn_iters
        self.theta1 = nn.Parameter(torch.randn(cfg.projections, cfg.token_dim, generator=generator))
        self.theta2 = nn.Parameter(self.theta1.detach().clone())  # start by comparing the branches along one axis

    def projections(self):
        return (nn.functional.normalize(self.theta1, dim=-1), nn.functional.normalize(self.theta2, dim=-1))

    def forward(self, z1, z2, *, sorted_plan: bool = False):
        from .transport import entropic_transport, sorted_transport

        t1, t2 = self.projections()
        a = torch.einsum("bnd,pd->bpn", z1, t1)
        b = torch.einsum("bnd,pd->bpn", z2, t2)
        if sorted_plan:
            return sorted_transport(z1, a, b)
        return entropic_transport(z1, a, b, self.reg, n_iter=self.iters)


class Coupling(nn.Module):
    """Φ(z, π[, E_Ω(D_Ξ(z))]) → z̃_Ω (B, N, D) in the VLM's token space (de-standardised)."""

    def __init__(self, cfg: CouplingConfig, *, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        torch.manual_seed(seed)  # module initialisers draw from the global generator; fix it for reproducibility
        self.global_branch = GlobalBranch(cfg)
        self.local_branch = LocalBranch(cfg)
        self.rho = RhoOT(cfg, torch.Generator().manual_seed(seed))
        self.register_buffer("token_mean", torch.zeros(cfg.token_dim))
        self.register_buffer("token_std", torch.ones(cfg.token_dim))

    def standardise(self, tokens):
        return (tokens - self.token_mean) / self.token_std

    def destandardise(self, tokens):
        return tokens * self.token_std + self.token_mean

    def branches(self, z, embeds, mask=None, local_tokens=None):
        """Standardised outputs (ẑ1, ẑ2); ẑ2 is ``None`` without ``local_tokens``."""
        z1 = self.global_branch(z, embeds, mask)
        z2 = None if local_tokens is None else self.local_branch(self.standardise(local_tokens))
        return z1, z2

    def merge(self, z1, z2, merge: str):
        if merge == "global":
            return z1
        if z2 is None:
            raise ValueError(f"merge={merge!r} needs the local branch's input E_Ω(D_Ξ(z)); pass local_tokens "
                             "(or read with merge='global', which needs no decode)")
        if merge == "local":
            return z2
        if merge == "mean":
            return (z1 + z2) / 2
        return self.rho(z1, z2, sorted_plan=merge == "rho_ot_sorted")

    def forward(self, z, embeds, mask=None, local_tokens=None, *, merge: str | None = None):
        merge = merge or self.cfg.merge
        if merge not in MERGES:
            raise ValueError(f"merge={merge!r}; choose one of {', '.join(MERGES)}")
        z1, z2 = self.branches(z, embeds, mask, local_tokens if merge in NEEDS_LOCAL else None)
        return self.destandardise(self.merge(z1, z2, merge))
