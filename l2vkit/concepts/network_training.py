"""Training the concept network h(π⁻, π⁺) → q on a :class:`~l2vkit.concepts.cache.ConceptCache` of many pairs."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from .network import ARCHITECTURE, ConceptNetwork, build_module, vocabulary_of


def train_concept_network(generator, cache, pairs: Sequence, *, steps: int = 2000, lr: float = 5e-4,
                          batch_per_pair: int = 4, seed: int = 0, vocabulary: Mapping | None = None,
                          families: Mapping | None = None, held_out: Mapping | None = None,
                          architecture: Mapping | None = None, checkpoint=None, checkpoint_every: int = 100,
                          progress: bool = True, vlm=None, coupling=None) -> ConceptNetwork:
    """Train one network h for every pair of ``cache``, with G frozen and the bank's objective.

    Each cached sample is a caption with its contrast caption; h reads both (the other caption encoded once here) and
    the step minimises ‖sg[G(z_t, π, t) + Δω·Δv] − G(z_t, π + Δω·h(π, π'), t)‖². Samples of a cache built with
    ``directions="both"`` that steer back are the reverse pair's forward samples (π⁺ → π⁻), so both orders of every
    cached pair train h. Each step draws ``batch_per_pair`` samples of every ordered pair: one forward and one
    backward of G, as a bank's step.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ the cache was built with.
    cache : ConceptCache
        From :func:`~l2vkit.concepts.build_concept_cache` over the training pairs.
    pairs : sequence of ContrastPair
        The cache's pairs, in its order.
    steps, lr, batch_per_pair, seed : int, float, int, int
        Adam steps (learning rate warmed up over 100 steps, then a cosine to a tenth), its learning rate, samples
        per ordered pair and step, the seed of the CPU generator that draws them (and of h's first weights).
    vocabulary, families : mapping, optional
        The words by slot the network may swap (default: the pairs' words; give the whole vocabulary to let it swap
        words no training pair holds), and the slots of each family as a pairs file declares them (family → slots,
        e.g. the toy world's ``FAMILIES``; default: the pairs' own).
    held_out : mapping, optional
        Recorded in ``meta`` (e.g. the pairs and words kept out of training for evaluation).
    architecture : mapping, optional
        Overrides of :data:`~l2vkit.concepts.network.ARCHITECTURE`.
    checkpoint : str or pathlib.Path, optional
        A file for the resumable training state (saved atomically every ``checkpoint_every`` steps); a later call
        with the same settings resumes from it.
    progress : bool
        Show a progress bar.
    vlm, coupling : optional
        Only recorded in the network's provenance.

    Returns
    -------
    ConceptNetwork
    """
    import torch
    from tqdm.auto import tqdm

    from ..provenance import generator_identity, provenance, vlm_identity
    from ..training import check_settings, load_state, save_state, warmup_cosine
    from .training import _digest

    check_settings(steps=steps, lr=lr, batch_per_pair=batch_per_pair, checkpoint_every=checkpoint_every)
    names = [p.name for p in pairs]
    if names != cache.names:
        raise ValueError(f"pairs {names} do not match the cache's pairs {cache.names}")
    vocab = vocabulary_of(pairs, vocabulary)
    slot_families = ({slot: family for family, slots in families.items() for slot in slots} if families
                     else {p.slot: p.family for p in pairs})
    unknown = set(vocab) - set(slot_families)
    if unknown:
        raise ValueError(f"no family is given for the slot(s) {sorted(unknown)} of the vocabulary; pass families= "
                         "as family → slots, e.g. {'attribute': ['colour', 'shape']}")
    architecture = {**ARCHITECTURE, **(architecture or {})}
    width = int(cache.embeds.shape[-1])
    module = build_module(width, seed=seed, **architecture)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: warmup_cosine(s, steps, 100))
    rng = torch.Generator().manual_seed(seed)
    signs = cache.signs()
    kinds = [(k, sign) for k in range(len(pairs)) for sign in (1.0, -1.0)
             if bool(((cache.pair == k) & (signs == sign)).any())]
    groups = [torch.nonzero((cache.pair == k) & (signs == sign)).flatten() for k, sign in kinds]
    other = _other_embeds(generator, cache)
    settings = {"lr": lr, "batch_per_pair": batch_per_pair, "architecture": architecture, "cache": cache.meta,
                "samples": len(cache), "captions": _digest(cache.captions)}
    history, start = [], 0
    state = load_state(Path(checkpoint)) if checkpoint else None
    if state is not None:
        if state["names"] != names or state["steps"] != steps or state["seed"] != seed or state["settings"] != settings:
            raise ValueError(f"checkpoint {checkpoint} is from a run with other settings; delete it to start over")
        module.load_state_dict(state["module"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        start, history = state["step"], state["history"]
        rng.set_state(state["rng"])
    module.train()
    bar = tqdm(total=steps, initial=start, desc=f"concept network ({len(groups)} ordered pairs)", disable=not progress)
    for step in range(start, steps):
        index = torch.cat([ix[torch.randint(0, len(ix), (batch_per_pair,), generator=rng)] for ix in groups])
        loss = _loss(generator, cache, other, module, index)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"concept network training diverged at step {step}; lower lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.update(1)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            history.append({"step": step + 1, "loss": round(float(loss.detach()), 6)})
            bar.set_postfix(loss=f"{history[-1]['loss']:.4f}")
        if checkpoint and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            save_state(Path(checkpoint), {"names": names, "steps": steps, "seed": seed, "settings": settings,
                                          "module": module.state_dict(), "optimizer": optimizer.state_dict(),
                                          "schedule": schedule.state_dict(), "step": step + 1, "history": history,
                                          "rng": rng.get_state()})
    bar.close()
    module.eval()
    # the ordered pairs h trained on: a pair's own samples, and its reverse where samples steer back
    ordered = sorted(pairs[k].name if sign > 0 else f"{pairs[k].target}->{pairs[k].source}" for k, sign in kinds)
    meta = provenance(generator=generator_identity(generator), vlm=vlm_identity(vlm) if vlm is not None else None,
                      coupling=None if coupling is None else coupling.meta.get("created"), cache=cache.meta,
                      steps=steps, lr=lr, batch_per_pair=batch_per_pair, seed=seed, trained_pairs=ordered,
                      held_out=dict(held_out or {}))
    return ConceptNetwork(module, {"width": width, **architecture}, vocab, slot_families, meta, history)


def _loss(generator, cache, other, module, index):
    """The bank's objective with q = h(own caption, other caption) per sample (every sample steers forward)."""
    import torch

    from ..generator.base import Condition

    dw = cache.dw[index].view(-1, 1, 1)
    own, mask = cache.embeds[index], cache.mask[index]
    target = cache.v_minus[index] + dw.view(-1, 1, 1, 1, 1) * cache.dv[index]
    steered = Condition(own + dw * module(own, other[index]), mask)
    return torch.nn.functional.mse_loss(generator.velocity(cache.z_t[index], steered, cache.t[index]), target)


def _other_embeds(generator, cache, chunk: int = 256):
    """The other caption of every sample (π⁺, or π⁻ for a sample that steers back), encoded once per caption."""
    import torch

    texts = sorted({other for _, other in cache.captions})
    encoded = {}
    for i in range(0, len(texts), chunk):
        part = texts[i:i + chunk]
        embeds = generator.encode_prompt(part).embeds.float().cpu()
        encoded.update(zip(part, embeds))
    return torch.stack([encoded[other] for _, other in cache.captions])
