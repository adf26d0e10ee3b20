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

from .mixers import pool_condition  # noqa: F401  (importable from here as before)

#: How the branches are combined into z̃_Ω. "rho_ot" is the method; the others are the paper's ablations.
MERGES = ("rho_ot", "rho_ot_sorted", "global", "local", "mean")
#: Φ_Ω1's architectures (:mod:`l2vkit.coupling.mixers`); couplings saved before "factorised" existed are "dense".
ARCHITECTURES = ("factorised", "dense")
#: Merges that need the local branch, i.e. E_Ω(D_Ξ(z)) — a decode and a VLM encode per read.
NEEDS_LOCAL = ("rho_ot", "rho_ot_sorted", "local", "mean")


@dataclasses.dataclass
class CouplingConfig:
    """Sizes of Φ. ``latent_shape`` (C, F, h, w), ``text_dim`` E, ``tokens`` N and ``token_dim`` D of z_Ω.

    ``token_grid`` (t, h, w) is how the VLM lays its N tokens out (t·h·w = N − ``extra_tokens``, raster order; e.g.
    Qwen's merged patch grid); Φ_Ω1 resamples the latent patch grid onto it and writes the ``extra_tokens`` that follow
    the grid (LLaVA-OneVision's newline) from the grid's mean. Without it the N tokens are treated as one row (1, 1, N),
    which works for any VLM but places tokens less well. ``architecture``: ``"factorised"`` (linear in the token
    counts) or ``"dense"`` (the first release's, quadratic; see :mod:`l2vkit.coupling.mixers`). Paper depths are 24
    (mixer) and 12 (transformer); the toy defaults are much smaller.
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
    architecture: str = "factorised"
    token_grid: tuple | None = None
    out_depth: int = 1
    extra_tokens: int = 0

    def __post_init__(self):
        sizes = ("text_dim", "tokens", "token_dim", "width", "mixer_depth", "heads", "out_depth")
        bad = [f"{k}={getattr(self, k)!r}" for k in sizes
               if isinstance(getattr(self, k), bool) or not isinstance(getattr(self, k), int) or getattr(self, k) < 1]
        bad += [f"{k}={getattr(self, k)!r}" for k in ("local_depth", "extra_tokens")
                if not isinstance(getattr(self, k), int) or getattr(self, k) < 0]
        if bad:
            raise ValueError(f"coupling config: {', '.join(bad)}; sizes must be positive whole numbers")
        if self.width % self.heads:
            raise ValueError(f"coupling config: width={self.width} is not divisible by heads={self.heads}")
        self.latent_shape = tuple(int(s) for s in self.latent_shape)
        if self.token_grid is not None:
            self.token_grid = tuple(int(s) for s in self.token_grid)
            if len(self.token_grid) != 3 or math.prod(self.token_grid) + self.extra_tokens != self.tokens:
                raise ValueError(f"token_grid={self.token_grid} with {self.extra_tokens} extra tokens does not hold the "
                                 f"VLM's {self.tokens} tokens; expected (t, h, w) with t·h·w + extra_tokens = tokens")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture={self.architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
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
    def latent_grid(self) -> tuple:
        """(T, H, W): the latent patch grid Φ_Ω1 mixes."""
        return tuple(s // p for s, p in zip(self.latent_shape[1:], self.patch))

    @property
    def latent_tokens(self) -> int:
        return math.prod(self.latent_grid)

    @property
    def output_grid(self) -> tuple:
        """(t, h, w): the VLM's token grid Φ_Ω1 writes (``token_grid``, else one row of N tokens)."""
        return self.token_grid or (1, 1, self.tokens - self.extra_tokens)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def needs_checkpointing(cfg: CouplingConfig) -> bool:
    """Whether fitting Φ of ``cfg`` recomputes activations (gradient checkpointing) by default: above 2,048 latent
    patches or 512 VLM tokens, where stored activations would dominate training memory (the toy world is far below)."""
    return cfg.latent_tokens > 2048 or cfg.tokens > 512


def patchify(z, patch):
    """(B, C, F, h, w) → (B, F/pf · h/ph · w/pw, C · pf · ph · pw) non-overlapping latent patches."""
    from .mixers import patch_grid

    return patch_grid(z, patch).flatten(1, 3)


def gram(tokens):
    """H(z) = z zᵀ / D: pairwise token inner products, (B, N, D) → (B, N, N)."""
    return tokens @ tokens.transpose(1, 2) / tokens.shape[-1]


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

    #: Recompute each chunk of plans in the backward pass (``Coupling.gradient_checkpointing``)
    checkpoint = False

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
        return entropic_transport(z1, a, b, self.reg, n_iter=self.iters, checkpoint=self.checkpoint)


class Coupling(nn.Module):
    """Φ(z, π[, E_Ω(D_Ξ(z))]) → z̃_Ω (B, N, D) in the VLM's token space (de-standardised)."""

    def __init__(self, cfg: CouplingConfig, *, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        torch.manual_seed(seed)  # module initialisers draw from the global generator; fix it for reproducibility
        from .mixers import BRANCHES

        self.global_branch = BRANCHES[cfg.architecture](cfg)
        self.local_branch = LocalBranch(cfg)
        self.rho = RhoOT(cfg, torch.Generator().manual_seed(seed))
        self.register_buffer("token_mean", torch.zeros(cfg.token_dim))
        self.register_buffer("token_std", torch.ones(cfg.token_dim))

    def gradient_checkpointing(self, enable: bool = True) -> "Coupling":
        """Trade compute for memory in training: Φ_Ω1's blocks and ρ-OT's plan chunks are recomputed in the backward
        pass rather than kept (``fit_coupling`` turns this on for large grids, see :func:`needs_checkpointing`)."""
        self.global_branch.checkpoint = bool(enable)
        self.rho.checkpoint = bool(enable)
        return self

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
