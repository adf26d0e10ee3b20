"""Real models end to end on a tier's machine: every stage in the order and with the settings the tier planned.

``prepare_real_models(tier, clip_captions, pairs, pair_captions)`` is what the notebooks' real-model path runs
(their ``TIER`` config). Each stage writes its result under ``folder`` and a rerun (or a restarted Colab runtime)
picks it up instead of recomputing:

1. **encode captions** — every caption of the session, once, with only the text encoder loaded
   (``conditions.safetensors``); the text encoder is then gone (``tier.free_text_encoder``);
2. **clips** — the generator draws one clip per coupling caption (``clips.npy``, uint8);
3. **coupling data** — the VLM loads and reads the decoded clips (``coupling_data/``, resumable);
4. **coupling fit** — Φ (``coupling.safetensors``; training resumes from ``coupling.train_state.pt``);
5. **concept cache** and 6. **concept training** — the VLM is freed before training, which then recomputes G's
   blocks where the tier says so (``concepts.safetensors``; resumes from ``concepts.train_state.pt``);

then the VLM is loaded again for what the notebooks do next (sweeps read through Φ and from pixels). The memory of
each stage is :func:`l2vkit.stage_memory.plan_stages`'s row of the same name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .tiers import get_tier


def prepare_real_models(tier, clip_captions: Sequence[str], pairs: Sequence, pair_captions: dict, *,
                        extra_captions: Sequence[str] = (), folder="outputs/real", seed: int = 0,
                        coupling_steps: dict | None = None, concept_steps: int = 1000, progress: bool = True):
    """Run stages 1–6 (see the module docstring) for ``tier``; returns ``(vlm, generator, coupling, bank)``.

    ``clip_captions``: one clip per caption for the coupling data. ``pairs`` and ``pair_captions`` (pair name → π⁻
    captions, each holding the source word once): the concepts to train. ``extra_captions``: every other caption the
    session will sample (steering, the logit editor), encoded in stage 1 too. ``coupling_steps``: ``fit_coupling``'s
    ``steps`` (its defaults when ``None``).
    """
    import numpy as np

    from .concepts import ConceptBank, build_concept_cache, swap_word, train_concepts
    from .coupling import CouplingResult, build_coupling_data, fit_coupling
    from .coupling.data import open_coupling_data
    from .coupling.store import INDEX

    tier = get_tier(tier)
    if tier.is_toy:
        raise ValueError("the toy tier ships its coupling and concepts: load them with l2vkit.toyworld.load_coupling "
                         "and load_concepts instead")
    missing = [p.name for p in pairs if not pair_captions.get(p.name)]
    if missing:
        raise ValueError(f"no π⁻ captions for pair(s) {missing}")
    folder = Path(folder) / tier.name
    folder.mkdir(parents=True, exist_ok=True)

    # 1. every caption once
    plus = [swap_word(p, c) for p in pairs for c in pair_captions[p.name]]
    generator = load_generator(tier, [*clip_captions, *(c for p in pairs for c in pair_captions[p.name]), *plus,
                                      *extra_captions], folder=folder.parent)

    # 2. clips
    clips_file = folder / "clips.npy"
    if clips_file.is_file():
        clips = np.load(clips_file, allow_pickle=False)
    else:
        clips = np.stack([generator.generate(text, seed=seed + i) for i, text in enumerate(clip_captions)])
        _save_array(clips_file, clips)

    # 3. coupling data, 4. Φ
    vlm = load_vlm(tier)
    coupling_file = folder / "coupling.safetensors"
    if coupling_file.is_file():
        coupling = CouplingResult.load(coupling_file, vlm=vlm, generator=generator)
    else:
        data_folder = folder / "coupling_data"
        if (data_folder / INDEX).is_file():
            data = open_coupling_data(data_folder)
        else:
            data = build_coupling_data(vlm, generator, clips, list(clip_captions), batch=tier.coupling_data_batch,
                                       seed=seed, out=data_folder, progress=progress)
        coupling = fit_coupling(vlm, generator, data, steps=coupling_steps, seed=seed, progress=progress,
                                checkpoint=folder / "coupling.train_state.pt", **tier.coupling_batches,
                                **tier.coupling_sizes)
        coupling.save(coupling_file)

    # 5. concept cache, 6. concept training (the VLM is not needed there; its memory goes to G's backward)
    bank_file = folder / "concepts.safetensors"
    if bank_file.is_file():
        bank = ConceptBank.load(bank_file, generator=generator)
    else:
        cache = build_concept_cache(generator, vlm, coupling, list(pairs), captions=dict(pair_captions),
                                    samples_per_pair=tier.concept_samples_per_pair, seed=seed, progress=progress)
        vlm.free()
        bank = train_concepts(generator, cache, list(pairs), steps=concept_steps,
                              batch_per_pair=tier.concept_batch_per_pair, seed=seed,
                              gradient_checkpointing=tier.concept_gradient_checkpointing,
                              checkpoint=folder / "concepts.train_state.pt", progress=progress, coupling=coupling)
        bank.save(bank_file)
        vlm = load_vlm(tier)
    return vlm, generator, coupling, bank


def load_generator(tier, captions: Sequence[str] = (), *, folder="outputs/real"):
    """The tier's generator at the tier's size and steps. Where the tier frees the text encoder, ``captions`` (and the
    negative prompt) are encoded first with only the encoder loaded — or read from ``folder/TIER/conditions.safetensors``
    when a run before encoded them all — and the generator loads without it; it can then sample only those."""
    from .generator import ConditionStore, VideoGenerator, encode_captions

    tier = get_tier(tier)
    if tier.is_toy or not tier.free_text_encoder:
        return VideoGenerator.from_pretrained(tier.generator, **tier.generator_kwargs())
    store_file = Path(folder) / tier.name / "conditions.safetensors"
    store = ConditionStore.load(store_file) if store_file.is_file() else None
    if store is None or store.missing(captions):
        known = [] if store is None else list(store.conditions)
        store = encode_captions(tier.generator, [*known, *captions], dtype=tier.dtype)
        store.save(store_file)
    return VideoGenerator.from_pretrained(tier.generator, conditions=store, **tier.generator_kwargs())


def load_vlm(tier):
    """The tier's VLM (in the tier's dtype on a GPU; the toy VLM as shipped)."""
    from .vlm import VideoVLM

    tier = get_tier(tier)
    return VideoVLM.from_pretrained(tier.vlm) if tier.is_toy else VideoVLM.from_pretrained(tier.vlm, dtype=tier.dtype)


def _save_array(path: Path, array) -> None:
    import numpy as np

    from .io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)


__all__ = ["load_generator", "load_vlm", "prepare_real_models"]
