"""The paper's ablation table on the toy world: every variant of a fitted coupling (``l2vkit.coupling.variants``)
scored by the cosine to z_Ω (the VLM's tokens of the decoded clean video) and by *agreement*: the share of samples
where the toy VLM's word at an attribute slot read from z̃_Ω equals its word read from z_Ω.

    python -m l2vkit.toyworld.ablation [--eval-videos 300] [--variants ...]
"""
from __future__ import annotations

import numpy as np

from ..coupling.variants import LABELS, VARIANTS, predict_tokens, refit_projections, select_samples


def score_tokens(vlm, data, tokens, *, reference=None):
    """Cosine to z_Ω and per-attribute agreement with the VLM's slot predictions on the decoded videos.

    Returns ``{"cosine": float, "agreement": {attribute: share}, "by_sigma": {σ: {...}}}``.
    """
    import torch

    from .attributes import ATTRIBUTE_VALUES, parse_caption
    from .evaluate_vlm import slot_predictions

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

    from .attributes import parse_caption
    from .evaluate_vlm import slot_predictions

    keep = [i for i, s in enumerate(eval_data.sigmas.tolist()) if s <= max_sigma + 1e-6]
    data = select_samples(eval_data, keep)
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


def format_table(rows: list[dict]) -> str:
    """The ablation rows as a Markdown table."""
    from .attributes import ATTRIBUTE_VALUES

    head = ["variant", "cos", *ATTRIBUTE_VALUES, "min"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["label"], f"{r['cosine']:.3f}", *(f"{100 * r[f]:.1f}" for f in ATTRIBUTE_VALUES),
                 f"{100 * r['min_agreement']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    """``python -m l2vkit.toyworld.ablation``: the ablation table of the shipped toy coupling, printed as Markdown."""
    import argparse
    from pathlib import Path

    from ..io import write_json
    from . import load_coupling, load_generator, load_vlm
    from .coupling_data import cached_data

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
