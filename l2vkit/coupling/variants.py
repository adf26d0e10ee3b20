"""The variants of a fitted coupling that the paper's ablation compares: each maps samples (x̂0, π, E_Ω(D_Ξ(x̂0)))
to tokens z̃_Ω — decode → re-encode, one branch alone, their mean, a Gromov–Wasserstein plan, ρ-OT (entropic, sorted,
or with P projections refitted). Scoring them needs a judge; the toy world's is ``l2vkit.toyworld.ablation``.
"""
from __future__ import annotations

import copy

import numpy as np

#: The variants of the table, in the paper's order; "rho_ot_P50" etc. refit the projections with P = 50 / 200.
VARIANTS = ("decode_reencode", "global", "local", "mean", "gw_pot", "rho_ot", "rho_ot_sorted", "rho_ot_P50",
            "rho_ot_P200")
LABELS = {
    "decode_reencode": "decode → re-encode (no training)",
    "global": "Φ_Ω1 only (MLP-Mixer)",
    "local": "Φ_Ω2 only (Transformer, Gram)",
    "mean": "mean of Φ_Ω1 and Φ_Ω2",
    "gw_pot": "Gromov–Wasserstein plan (POT) instead of ρ-OT",
    "rho_ot": "ρ-OT, P = {P} (entropic)",
    "rho_ot_sorted": "ρ-OT, P = {P} (sorted, exact 1-D)",
    "rho_ot_P50": "ρ-OT, P = 50",
    "rho_ot_P200": "ρ-OT, P = 200",
}


def predict_tokens(result, data, variant: str, *, batch: int = 256, refit: dict | None = None):
    """z̃_Ω (M, N, D) of every sample of ``data`` under ``variant`` (see ``VARIANTS``)."""
    import torch

    if variant == "decode_reencode":
        return data.local_tokens.clone()
    model = result.model
    if variant.startswith("rho_ot_P"):
        model = (refit or {}).get(variant) or refit_projections(result, data, int(variant[len("rho_ot_P"):]))
    out = []
    with torch.no_grad():
        for start in range(0, len(data), batch):
            index = torch.arange(start, min(start + batch, len(data)))
            vid = data.video_index[index]
            z1, z2 = model.branches(data.latents[index], data.embeds[vid], data.mask[vid], data.local_tokens[index])
            if variant == "gw_pot":
                merged = _gw_merge(z1, z2)
            else:
                merged = model.merge(z1, z2, "rho_ot" if variant.startswith("rho_ot_P") else variant)
            out.append(model.destandardise(merged))
    return torch.cat(out)


def _gw_merge(z1, z2):
    """z̃ = N·Tᵀ ẑ1 with T the Gromov–Wasserstein plan (POT, exact) between the branches' token distance matrices."""
    import ot
    import torch

    out = []
    for a, b in zip(z1.double().numpy(), z2.double().numpy()):
        c1, c2 = ot.dist(a, a), ot.dist(b, b)
        c1, c2 = c1 / c1.max(), c2 / c2.max()
        w1, w2 = ot.unif(len(a)), ot.unif(len(b))
        plan = ot.gromov.gromov_wasserstein(c1, c2, w1, w2, loss_fun="square_loss")
        out.append(len(b) * plan.T @ a)
    return torch.tensor(np.stack(out), dtype=z1.dtype)


def refit_projections(result, data, projections: int, *, steps: int | None = None, seed: int = 0,
                      batch_size: int = 32, lr: float = 1e-3):
    """A copy of ``result.model`` whose ρ-OT has ``projections`` projections, refitted (branches frozen)."""
    import torch

    from .fit import stage_losses, training_batch
    from .networks import RhoOT

    model = copy.deepcopy(result.model)
    model.cfg = copy.copy(model.cfg)
    model.cfg.projections = projections
    model.rho = RhoOT(model.cfg, torch.Generator().manual_seed(seed))
    steps = steps or result.meta.get("steps", {}).get("rho", 300)
    optimizer = torch.optim.AdamW(model.rho.parameters(), lr=lr, weight_decay=0.0)
    rng = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        index = torch.randint(0, len(data), (batch_size,), generator=rng)
        loss = sum(stage_losses(model, training_batch(data, index, "cpu"), "rho").values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval().requires_grad_(False)


def select_samples(data, rows):
    """The coupling data restricted to samples ``rows`` (all videos' conditions and targets are kept)."""
    import torch

    from .data import CouplingData

    rows = torch.as_tensor(rows, dtype=torch.long)
    return CouplingData(data.latents[rows], data.sigmas[rows], data.video_index[rows], data.embeds, data.mask,
                        data.local_tokens[rows], data.targets, data.captions, dict(data.meta))
