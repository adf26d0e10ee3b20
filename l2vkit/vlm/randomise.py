"""Model randomisation for sanity checks (Adebayo et al., "Sanity Checks for Saliency Maps", 2018).

A concept trained with a VLM whose weights were re-drawn at random should not look like one trained with the real
VLM, if the VLM shapes it at all. :func:`cascade_stages` lists a VLM's language side from the top down — the output
head, then the decoder layers from the last to the first, then the input embeddings — and :func:`randomised` gives a
copy with the first ``stages`` of them re-initialised ("cascading") or all of them (``stages=None``, "full").

Only the language side is randomised: Φ feeds the VLM visual tokens, so the vision tower is not on the path through
which a concept is trained, and keeping it means Φ stays valid for the copy (:func:`l2vkit.coupling.share_coupling`
checks that).
"""
from __future__ import annotations

import copy


def _language_parts(model):
    """(head, final norm, decoder layers, input embeddings) of a transformers VLM's language model."""
    inner = getattr(model, "model", model)
    language = getattr(inner, "language_model", None)
    if language is None or not hasattr(language, "layers"):
        raise ValueError(f"{type(model).__name__}: no language_model.layers found; randomisation needs a "
                         "transformers VLM laid out as Qwen2-VL / LLaVA-OneVision (model.language_model.layers)")
    head = getattr(model, "lm_head", None)
    return head, getattr(language, "norm", None), list(language.layers), language.embed_tokens


def cascade_stages(vlm) -> list[tuple[str, list]]:
    """The language side from the top down, one (name, modules) per stage: ``"head"`` (the output head and final
    norm; where the config ties the output weights to the input embeddings, they go with ``"embeddings"``),
    ``"layer N"`` for each decoder layer from the last, and ``"embeddings"``."""
    head, norm, layers, embeddings = _language_parts(vlm.model)
    if head is not None and head.weight is embeddings.weight:  # tied: the output weights go with the embeddings
        head = None
    stages = [("head", [m for m in (head, norm) if m is not None])]
    stages += [(f"layer {i}", [layer]) for i, layer in reversed(list(enumerate(layers)))]
    stages.append(("embeddings", [embeddings]))
    return stages


def _reinitialise(module, std: float, generator) -> None:
    """Weights (2-D and up) from N(0, std²), norm scales 1, biases 0: a fresh transformer's initialisation."""
    import torch

    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float32).to(p) * std)
            elif name.endswith("bias"):
                p.zero_()
            else:
                p.fill_(1.0)


def randomised(vlm, stages: int | None = None, *, seed: int = 0):
    """A copy of ``vlm`` whose first ``stages`` of :func:`cascade_stages` are re-initialised (``None``: all).

    The copy's ``model_id`` names what was randomised (so artifacts made with it never pass for the trained VLM's),
    and ``randomisation`` records the stages and seed.
    """
    import torch

    all_stages = cascade_stages(vlm)
    count = len(all_stages) if stages is None else stages
    if not 1 <= count <= len(all_stages):
        raise ValueError(f"stages={stages!r}; {vlm.model_id} has {len(all_stages)} stages to randomise "
                         f"({', '.join(name for name, _ in all_stages)})")
    copied = copy.deepcopy(vlm)
    config = getattr(copied.model.config, "text_config", copied.model.config)
    std = float(getattr(config, "initializer_range", 0.02))
    generator = torch.Generator().manual_seed(seed)
    chosen = cascade_stages(copied)[:count]
    for _, modules in chosen:
        for module in modules:
            _reinitialise(module, std, generator)
    label = "full" if count == len(all_stages) else f"top {count}"
    copied.randomisation = {"stages": [name for name, _ in chosen], "seed": seed, "std": std, "of": vlm.model_id}
    copied.model_id = f"{vlm.model_id}+randomised({label}, seed {seed})"
    return copied
