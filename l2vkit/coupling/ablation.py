"""Scoring a coupling and the paper's ablation table (toy world: the VLM's slot predictions are the judge).

A variant maps evaluation samples (x̂0, π, E_Ω(D_Ξ(x̂0))) to tokens z̃_Ω; it is scored by the cosine to z_Ω (the VLM's
tokens of the decoded clean video) and by *agreement*: the share of samples where the toy VLM's word at an
attribute slot read from z̃_Ω equals its word read from z_Ω.
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

    from .fit import _batch, _losses
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
        loss = sum(_losses(model, _batch(data, index, "cpu"), "rho").values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval().requires_grad_(False)


def score_tokens(vlm, data, tokens, *, reference=None):
    """Cosine to z_Ω and per-attribute agreement with the VLM's slot predictions on the decoded videos.

    Returns ``{"cosine": float, "agreement": {attribute: share}, "by_sigma": {σ: {...}}}``.
    """
    import torch

    from ..toyworld import ATTRIBUTE_VALUES, parse_caption
    from ..toyworld.evaluate_vlm import slot_predictions

    attrs = [parse_caption(c) for c in data.captions]
    if reference is None:
        reference = slot_predictions(vlm, data.targets, attrs)
    index = data.video_index.tolist()
    predicted = slot_predictions(vlm, tokens, [attrs[i] for i in index])
    targets = data.targets[data.video_index]
    cosine = torch.nn.functional.cosine_similarity(tokens.float(), targets.float(), dim=-1).mean(-1)
    agree = np.array([[p[f] == reference[i][f] for f in ATTRIBUTE_VALUES] for p, i in zip(predicted, index)])
    sigmas = np.round(data.sigmas.numpy(), 3)

    def summary(rows):
        return {"cosine": round(float(cosine[rows].mean()), 4),
                "agreement": {f: round(float(agree[rows, k].mean()), 4) for k, f in enumerate(ATTRIBUTE_VALUES)},
                "samples": int(rows.sum())}

    out = summary(np.ones(len(index), dtype=bool))
    out["by_sigma"] = {float(s): summary(sigmas == s) for s in np.unique(sigmas)}
    return out


def ablation_table(result, vlm, eval_data, *, train_data=None, variants=VARIANTS, max_sigma: float = 0.5,
                   progress: bool = True) -> list[dict]:
    """One row per variant: cosine to z_Ω and agreement per attribute over the evaluation samples with σ ≤
    ``max_sigma``, plus the minimum agreement over attributes. Variants ``rho_ot_P*`` refit the ρ-OT projections
    on ``train_data`` (required for them)."""
    from tqdm.auto import tqdm

    from ..toyworld import parse_caption
    from ..toyworld.evaluate_vlm import slot_predictions

    keep = [i for i, s in enumerate(eval_data.sigmas.tolist()) if s <= max_sigma + 1e-6]
    data = _select(eval_data, keep)
    reference = slot_predictions(vlm, data.targets, [parse_caption(c) for c in data.captions])
    rows = []
    for variant in tqdm(variants or VARIANTS, desc="ablation", disable=not progress):
        refit = None
        if variant.startswith("rho_ot_P"):
            if train_data is None:
                raise ValueError(f"variant {variant!r} refits ρ-OT projections; pass train_data=")
            refit = {variant: refit_projections(result, train_data, int(variant[len("rho_ot_P"):]))}
        scores = score_tokens(vlm, data, predict_tokens(result, data, variant, refit=refit), reference=reference)
        label = LABELS.get(variant, variant).format(P=result.config.projections)
        rows.append({"variant": variant, "label": label, "cosine": scores["cosine"], **scores["agreement"],
                     "min_agreement": min(scores["agreement"].values()),
                     "by_sigma": {s: v["agreement"] for s, v in scores["by_sigma"].items()}})
    return rows


def _select(data, rows):
    import torch

    from .data import CouplingData

    rows = torch.as_tensor(rows, dtype=torch.long)
    return CouplingData(data.latents[rows], data.sigmas[rows], data.video_index[rows], data.embeds, data.mask,
                        data.local_tokens[rows], data.targets, data.captions, dict(data.meta))


def format_table(rows: list[dict]) -> str:
    """The ablation rows as a Markdown table."""
    from ..toyworld import ATTRIBUTE_VALUES

    head = ["variant", "cos", *ATTRIBUTE_VALUES, "min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["label"], f"{r['cosine']:.3f}", *(f"{100 * r[f]:.1f}" for f in ATTRIBUTE_VALUES),
                 f"{100 * r['min_agreement']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    """``python -m l2vkit.coupling.ablation``: the ablation table of the shipped toy coupling, printed as Markdown."""
    import argparse
    from pathlib import Path

    from ..io import write_json
    from ..toyworld import load_coupling, load_generator, load_vlm
    from ..toyworld.train_coupling import cached_data

    parser = argparse.ArgumentParser(description="The paper's ablation table for the shipped toy coupling Φ.")
    parser.add_argument("--eval-videos", type=int, default=300)
    parser.add_argument("--train-videos", type=int, default=3000, help="data for refitting ρ-OT with P = 50, 200")
    parser.add_argument("--cache", default="outputs/cache")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--out", default="outputs/coupling_ablation.json")
    args = parser.parse_args(argv)
    vlm, generator = load_vlm(), load_generator()
    coupling = load_coupling(vlm=vlm, generator=generator)
    evaluation = cached_data(vlm, generator, args.eval_videos, seed=1, cache=Path(args.cache), held_out=True)
    train = None
    if any(v.startswith("rho_ot_P") for v in args.variants):
        train = cached_data(vlm, generator, args.train_videos, seed=0, cache=Path(args.cache))
    rows = ablation_table(coupling, vlm, evaluation, train_data=train, variants=args.variants)
    print(format_table(rows))
    write_json(args.out, {"rows": rows, "eval_videos": args.eval_videos, "max_sigma": 0.5})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
