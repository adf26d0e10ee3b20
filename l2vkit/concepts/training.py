"""Training the concept vectors q_o of a :class:`~l2vkit.concepts.cache.ConceptCache`, all pairs in one run."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Sequence

from .bank import ConceptBank
from .cache import ConceptCache, mask_of


def train_concepts(generator, cache: ConceptCache, pairs: Sequence, *, steps: int = 1000, lr: float = 1e-3,
                   batch_per_pair: int = 16, seed: int = 0, loop: str = "cached", checkpoint=None,
                   checkpoint_every: int = 200, progress: bool = True, vlm=None, coupling=None,
                   gradient_checkpointing: bool = False, fsdp: bool = False, references=None) -> ConceptBank:
    """Train one q_o per pair, all pairs in one batched run, with G frozen.

    Each step draws ``batch_per_pair`` cached samples per pair and costs one forward and one backward of G. Every q_o
    starts at zero and is trained with Adam. The paper uses 1k steps at lr 1e-4; the toy bank 3k steps at lr 1e-3. On
    a cache built with ``directions="both"`` the draw mixes samples that steer forward (π⁻ + Δω·q) and back
    (π⁺ − Δω·q).

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ the cache was built with.
    cache : ConceptCache
        From :func:`build_concept_cache`.
    pairs : sequence of ContrastPair
        The cache's pairs, in its order.
    steps : int
        Training steps.
    lr : float
        Adam's learning rate.
    batch_per_pair : int
        Cached samples drawn per pair at each step.
    seed : int
        Seed of the CPU generator the samples are drawn with.
    loop : str
        ``"cached"`` (default) reads G(z_t, π⁻, t) and Δv from the cache; ``"naive"`` recomputes G(z_t, π⁻, t)
        and G(z_t, π⁺, t) every step (three forwards; for the speed comparison; π⁺ and π⁻ swap places on samples
        that steer back).
    checkpoint : str or pathlib.Path, optional
        A file for the resumable training state (saved atomically every ``checkpoint_every`` steps); a later call
        with the same settings resumes from it.
    checkpoint_every : int
        Steps between checkpoints (the last step is saved too).
    progress : bool
        Show a progress bar.
    vlm, coupling : VideoVLM, CouplingResult, optional
        Only recorded in the bank's provenance (the VLM's identity, the coupling's creation time).
    gradient_checkpointing : bool
        Recompute G's blocks in the backward pass (:meth:`VideoGenerator.recomputing_blocks`): the memory of a
        step falls from about every block's activations to one block's, for about a third more time; the result is
        the same. The tiers that train concepts on one GPU (``l2vkit.tiers``) turn it on.
    fsdp : bool
        Under several processes (``torchrun``, ``accelerate launch``), shard G's frozen weights over them
        (:func:`l2vkit.distributed.shard_transformers`) as well as each step's samples: for generators that do not
        fit one GPU with their activations. Without it, every process holds all of G (data parallel).
    references : mapping of pair name → captions, optional
        The captions whose token layouts q's rows follow (e.g. those of one caption template). A training caption
        laid out otherwise (another word order, extra words) then receives q's rows placed on its tokens, as
        :func:`l2vkit.steer` places them (:mod:`l2vkit.concepts.placement`), so q learns to act in those word orders
        too; the bank records them as its reference captions. Needs the generator's fast tokenizer. Default: each
        training caption is its own reference (q's rows follow its token positions), except that on a cache with
        samples that steer back the π⁻ captions are the references (a π⁺ caption whose target word is tokenized
        otherwise than the source word gets q placed, as steering back places it).

    Returns
    -------
    ConceptBank
        One q_o (L, E) per pair, the pairs, ``meta`` (provenance, the cache's settings and the training settings)
        and the loss ``history``.

    Raises
    ------
    ValueError
        For an unknown ``loop``, ``pairs`` that are not the cache's, or a ``checkpoint`` from a run with other
        settings.
    FloatingPointError
        When training diverges.
    """
    import torch
    from tqdm.auto import tqdm

    from ..distributed import is_main, shard_transformers, world
    from ..provenance import generator_identity, provenance, vlm_identity
    from ..training import check_settings, load_state, save_state
    from .placement import generator_tokenizer, training_references, training_rows

    check_settings(steps=steps, lr=lr, batch_per_pair=batch_per_pair, checkpoint_every=checkpoint_every)
    if loop not in ("cached", "naive"):
        raise ValueError(f"loop={loop!r}; choose 'cached' or 'naive'")
    names = [p.name for p in pairs]
    if names != cache.names:
        raise ValueError(f"pairs {names} do not match the cache's pairs {cache.names}")
    length, width = cache.embeds.shape[1:]
    q = torch.zeros(len(pairs), length, width, requires_grad=True)
    optimizer = torch.optim.Adam([q], lr=lr)
    rng = torch.Generator().manual_seed(seed)
    history, start = [], 0
    state = load_state(Path(checkpoint)) if checkpoint else None
    if references is None and bool((cache.signs() < 0).any()) and generator_tokenizer(generator) is not None:
        # samples that steer back hold the target word: place q on them from the π⁻ captions, as steering does
        references = training_references(generator, cache, pairs)
    rows, chosen = (None, None) if references is None else training_rows(generator, cache, pairs, references)
    settings = {"lr": lr, "batch_per_pair": batch_per_pair, "loop": loop, "cache": cache.meta, "samples": len(cache),
                "captions": _digest(cache.captions), **({} if chosen is None else {"references": chosen})}
    if state is not None:
        if (state["names"] != names or state["steps"] != steps or state["seed"] != seed
                or state.get("settings") != settings):
            raise ValueError(f"checkpoint {checkpoint} is from a run with other settings; delete it to start over")
        start, history = resume_vectors(state, q, optimizer, rng)
    by_pair = [torch.nonzero(cache.pair == k).flatten() for k in range(len(pairs))]
    plus_cache = {}
    if len(pairs) * batch_per_pair < world()[1]:
        raise ValueError(f"{len(pairs)} pairs × batch_per_pair={batch_per_pair} samples per step cannot be shared by "
                         f"{world()[1]} processes; raise batch_per_pair")
    bar = tqdm(total=steps, initial=start, desc=f"concepts ({len(pairs)} pairs)", disable=not progress or not is_main())

    def save(done: int) -> None:
        save_state(Path(checkpoint), {"names": names, "steps": steps, "seed": seed, "settings": settings,
                                      "q": q.detach().clone(), "optimizer": optimizer.state_dict(), "step": done,
                                      "history": history, "rng": rng.get_state()})

    if fsdp:
        shard_transformers(generator)
    recompute = generator.recomputing_blocks() if gradient_checkpointing else contextlib.nullcontext()
    with recompute:
        _train_steps(generator, cache, q, rows, optimizer, rng, by_pair, plus_cache, range(start, steps), loop=loop,
                     batch_per_pair=batch_per_pair, history=history, bar=bar,
                     save=save if checkpoint and is_main() else None,
                     checkpoint_every=checkpoint_every, steps=steps)
    bar.close()
    meta = provenance(generator=generator_identity(generator), vlm=vlm_identity(vlm) if vlm is not None else None,
                      coupling=None if coupling is None else coupling.meta.get("created"),
                      cache=cache.meta, steps=steps, lr=lr, batch_per_pair=batch_per_pair, seed=seed, loop=loop,
                      gradient_checkpointing=bool(gradient_checkpointing), processes=world()[1], fsdp=bool(fsdp),
                      reference_captions=chosen or training_references(generator, cache, pairs))
    return ConceptBank({n: q[i].detach().clone() for i, n in enumerate(names)},
                       {p.name: p for p in pairs}, meta, history)


def resume_vectors(state, q, optimizer, rng) -> tuple[int, list]:
    """Restore concept vectors ``q``, their optimiser and the sampling ``rng`` from a saved training state; returns
    (steps done, history)."""
    import torch

    with torch.no_grad():
        q.copy_(state["q"])
    optimizer.load_state_dict(state["optimizer"])
    rng.set_state(state["rng"])
    return state["step"], state["history"]


def _train_steps(generator, cache, q, rows, optimizer, rng, by_pair, plus_cache, step_range, *, loop, batch_per_pair,
                 history, bar, save, checkpoint_every, steps):
    """The optimisation loop of :func:`train_concepts` (``save(step)`` writes the resumable state). Under several
    processes each takes its rows of the step's batch and the gradients are summed (:mod:`l2vkit.distributed`).
    ``rows`` (S, L): for each sample, the row of q each condition position takes (−1: none), or ``None`` (in place)."""
    import torch

    from ..distributed import my_rows, sum_gradients, weighted_mean
    from ..generator.base import Condition

    signs = cache.signs()
    for step in step_range:
        index = torch.cat([ix[torch.randint(0, len(ix), (batch_per_pair,), generator=rng)] for ix in by_pair])
        total = len(index)
        index = index[my_rows(total)]  # the same draw everywhere; each process its own rows
        k = cache.pair[index]
        dw = cache.dw[index].view(-1, 1, 1)
        sign = signs[index].view(-1, 1, 1)
        z_t, t = cache.z_t[index], cache.t[index]
        embeds_m, mask = cache.embeds[index], cache.mask[index]
        if loop == "cached":
            v_m, dv = cache.v_minus[index], cache.dv[index]
        else:
            with torch.no_grad():
                v_m = generator.velocity(z_t, Condition(embeds_m, mask), t)
                plus = _plus_condition(generator, cache, index, plus_cache)
                dv = generator.velocity(z_t, plus, t) - v_m
        target = v_m + dw.view(-1, 1, 1, 1, 1) * dv
        q_k = q[k] if rows is None else _placed(q[k], rows[index])
        steered = Condition(embeds_m + sign * dw * q_k, mask)  # −q on samples that steer back
        loss = torch.nn.functional.mse_loss(generator.velocity(z_t, steered, t), target)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"concept training diverged at step {step}; lower lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        sum_gradients([q], len(index), total)
        optimizer.step()
        bar.update(1)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            mean = weighted_mean(float(loss.detach()), len(index), total)
            history.append({"step": step + 1, "loss": round(mean, 6)})
            bar.set_postfix(loss=f"{mean:.4f}")
        if save is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            save(step + 1)


def _digest(captions) -> str:
    """A short fingerprint of the cache's captions (a checkpoint resumes only on the same ones)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(captions).encode()).hexdigest()[:16]


def _placed(q_k, rows):
    """Per sample, q's rows at ``rows`` (B, L) (zero where −1): :func:`~l2vkit.concepts.placement.place` batched."""
    import torch

    index = rows.clamp_min(0).unsqueeze(-1).expand_as(q_k)
    return torch.gather(q_k, 1, index) * (rows >= 0).unsqueeze(-1).to(q_k.dtype)


def _plus_condition(generator, cache, index, memo):
    """The other caption's condition for cached samples (π⁺, or π⁻ for a sample that steers back; naive loop only),
    encoded once per caption."""
    from ..generator.base import Condition

    import torch

    rows = []
    for i in index.tolist():
        text = cache.captions[i][1]
        if text not in memo:
            memo[text] = generator.encode_prompt(text)
        rows.append(memo[text])
    return Condition(torch.cat([r.embeds for r in rows]), None if rows[0].mask is None else torch.cat([r.mask for r in rows]))
