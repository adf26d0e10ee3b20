"""Concept vectors whose direction comes from the VLM (``direction="vlm"``), beside the paper's.

The paper's q_o is fitted to the generator's own velocity difference Δv, weighted by Δω: the VLM sets how much, not
which way. Here q is trained to raise the target word's log-odds *as the VLM reads the steered sample*:

    loss = softplus(m − ℓ_Φ) + λ ‖G(z_t, π⁻ + q, t) − G(z_t, π⁻, t)‖² / ‖Δv‖²  [+ softplus(m − ℓ_px)]

ℓ_Φ is log p(target) − log p(source) of the VLM reading x̂0(z_t, π⁻ + q) through Φ (with the unsteered π⁻, so only
the latents carry the change); the margin m stops the push once the VLM is sure. The second term is a trust region
in velocity space with no preferred direction: any change costs, in units of the prompt swap's own ‖Δv‖² (Δv gives
the scale only), so the edit is the cheapest one that convinces the VLM — the VLM's notion of the word, rendered by
the generator. Every ``closed_loop_every`` steps ℓ_px is added: the
VLM reads x̂0 *decoded to pixels* through its own vision tower, so q cannot win by fooling Φ alone.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

#: the settings measured on the toy world (docs/sanity-checks.md): on circle→square λ = 4 (in units of the swap's
#: ‖Δv‖²) kept the edit to the shape; weights 1 and 20 in units of ‖v‖² (about 0.04 and 0.8 here) changed the size too
VLM_DIRECTED_DEFAULTS = {"steps": 300, "lr": 2e-3, "batch_per_pair": 8, "margin": 4.0, "trust": 4.0,
                         "closed_loop_every": 4}


def train_vlm_directed(generator, vlm, coupling, cache, pairs: Sequence, *, seed: int = 0, progress: bool = True,
                       checkpoint=None, checkpoint_every: int = 50, **settings):
    """One VLM-directed q per pair, from a forward concept cache (:func:`~l2vkit.concepts.build_concept_cache`
    with ``directions="forward"``; its Δω is not used, its Δv only for the trust region's unit). Returns a
    :class:`~l2vkit.concepts.ConceptBank` whose ``meta["direction"]`` is ``"vlm"``; it steers like any bank. Resumes
    from ``checkpoint`` when given.

    Settings (:data:`VLM_DIRECTED_DEFAULTS`): ``steps``, ``lr``, ``batch_per_pair``, ``margin`` m (log-odds at which
    the push stops), ``trust`` λ and ``closed_loop_every`` (0: never read decoded pixels).
    """
    import torch
    from tqdm.auto import tqdm

    from ..provenance import generator_identity, provenance, vlm_identity
    from ..training import check_settings, load_state, save_state
    from .bank import ConceptBank
    from .training import resume_vectors

    unknown = set(settings) - set(VLM_DIRECTED_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; train_vlm_directed takes "
                        f"{', '.join(VLM_DIRECTED_DEFAULTS)}")
    s = {**VLM_DIRECTED_DEFAULTS, **settings}
    check_settings(steps=s["steps"], lr=s["lr"], batch_per_pair=s["batch_per_pair"], checkpoint_every=checkpoint_every)
    names = [p.name for p in pairs]
    if names != cache.names:
        raise ValueError(f"pairs {names} do not match the cache's pairs {cache.names}")
    if bool((cache.signs() < 0).any()):
        raise ValueError("this cache holds samples that steer back; build it with directions='forward'")
    coupling.check_models(vlm=vlm, generator=generator)
    ctx = _Reader(generator, vlm, coupling, cache, pairs, s["margin"])
    q = torch.zeros(len(pairs), *cache.embeds.shape[1:], requires_grad=True)
    optimizer = torch.optim.Adam([q], lr=s["lr"])
    rng = torch.Generator().manual_seed(seed)
    history, start = [], 0
    state = load_state(Path(checkpoint)) if checkpoint else None
    if state is not None:
        if state["names"] != names or state["settings"] != s or state["seed"] != seed:
            raise ValueError(f"checkpoint {checkpoint} is from a run with other settings; delete it to start over")
        start, history = resume_vectors(state, q, optimizer, rng)
    by_pair = [torch.nonzero(cache.pair == k).flatten() for k in range(len(pairs))]
    started = time.perf_counter()
    bar = tqdm(total=s["steps"], initial=start, desc=f"VLM-directed concepts ({len(pairs)} pairs)",
               disable=not progress)
    for step in range(start, s["steps"]):
        index = torch.cat([ix[torch.randint(0, len(ix), (s["batch_per_pair"],), generator=rng)] for ix in by_pair])
        closed = bool(s["closed_loop_every"]) and step % s["closed_loop_every"] == 0
        terms = ctx.terms(q, index, closed=closed)
        loss = terms["vlm"] + s["trust"] * terms["trust"] + terms.get("pixels", 0.0)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"VLM-directed training diverged at step {step}; lower lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.update(1)
        if step == 0 or (step + 1) % 10 == 0 or step + 1 == s["steps"]:
            history.append({"step": step + 1, **{k: round(float(v.detach()), 5) for k, v in terms.items()}})
            bar.set_postfix(log_odds=f"{history[-1]['log_odds']:.2f}", trust=f"{history[-1]['trust']:.3f}")
        if checkpoint and ((step + 1) % checkpoint_every == 0 or step + 1 == s["steps"]):
            save_state(Path(checkpoint), {"names": names, "settings": s, "seed": seed, "q": q.detach().clone(),
                                          "optimizer": optimizer.state_dict(), "step": step + 1, "history": history,
                                          "rng": rng.get_state()})
    bar.close()
    meta = provenance(direction="vlm", generator=generator_identity(generator), vlm=vlm_identity(vlm),
                      coupling=coupling.meta.get("created"), cache=cache.meta, seed=seed, **s,
                      seconds=round(time.perf_counter() - started, 1))
    return ConceptBank({n: q[i].detach().clone() for i, n in enumerate(names)}, {p.name: p for p in pairs}, meta,
                       history)


def cache_log_odds(generator, vlm, coupling, cache, pairs, bank=None) -> dict:
    """Per pair, the mean log-odds ℓ_Φ of the target word over the cache's samples (σ within Φ's range), steered with
    ``bank``'s q (``None``: unsteered) — how far a concept moves the VLM's reading."""
    import torch

    if [p.name for p in pairs] != cache.names:
        raise ValueError(f"pairs {[p.name for p in pairs]} do not match the cache's pairs {cache.names}")
    q = torch.stack([bank[p.name] if bank is not None else torch.zeros(cache.embeds.shape[1:]) for p in pairs])
    reader = _Reader(generator, vlm, coupling, cache, pairs, 0.0)
    with torch.no_grad():
        return {p.name: float(reader.terms(q, torch.nonzero(cache.pair == k).flatten(), closed=False)["log_odds"])
                for k, p in enumerate(pairs)}


class _Reader:
    """The VLM's reading of steered samples: the loss terms of one batch of cache rows."""

    def __init__(self, generator, vlm, coupling, cache, pairs, margin: float):
        import torch

        from .cache import slot_prefix

        self.generator, self.vlm, self.coupling, self.cache = generator, vlm, coupling, cache
        self.margin = margin
        self.ids = [(vlm.word_ids(p.source)[0], vlm.word_ids(p.target)[0]) for p in pairs]
        self.prefixes = [slot_prefix(pairs[int(k)], cache.captions[i][0]) for i, k in enumerate(cache.pair.tolist())]
        # Φ was fitted on x̂0 up to this noise level; beyond it its reading means little
        self.max_sigma = float((coupling.meta.get("data") or {}).get("max_sigma", 1.0))
        self.swap_change = torch.stack([cache.dv[cache.pair == k].pow(2).mean()
                                        for k in range(len(pairs))]).clamp_min(1e-12)

    def _condition(self, index):
        from ..generator.base import Condition

        mask = self.cache.mask
        return Condition(self.cache.embeds[index], None if mask is None else mask[index])

    def terms(self, q, index, *, closed: bool) -> dict:
        """``vlm`` softplus(m − ℓ_Φ), ``trust`` (velocity change in swap units), ``pixels`` (closed loop, when
        ``closed``) and ``log_odds`` (mean ℓ_Φ, for the record)."""
        import torch
        import torch.nn.functional as F

        from .cache import token_probs_by_prompt

        cache, k = self.cache, self.cache.pair[index]
        z_t, t, v_m = cache.z_t[index], cache.t[index], cache.v_minus[index]
        base = self._condition(index)
        v_s = self.generator.velocity(z_t, base.with_embeds(base.embeds + q[k]), t)
        sigma = t.float() / self.generator.num_train_timesteps
        x0 = self.generator.x0_estimate(z_t, v_s, sigma)
        read = sigma <= self.max_sigma
        if not read.any():
            read = sigma == sigma.min()
        index_r, x0_r = index[read], x0[read]
        prefixes = [self.prefixes[int(i)] for i in index_r]
        source = torch.tensor([self.ids[int(j)][0] for j in k[read]])
        target = torch.tensor([self.ids[int(j)][1] for j in k[read]])

        def log_odds(probs):
            log_p = probs.vocab.float().clamp_min(1e-30).log()
            rows = torch.arange(len(prefixes))
            return log_p[rows, target] - log_p[rows, source]

        phi_tokens = self.coupling.read(x0_r, self._condition(index_r))
        through_phi = log_odds(token_probs_by_prompt(self.vlm, phi_tokens, prefixes, coupling=self.coupling))
        # the velocity change in units of the prompt swap's own (‖Δv‖², per pair): a scale, not a direction
        terms = {"vlm": F.softplus(self.margin - through_phi).mean(),
                 "trust": ((v_s - v_m).pow(2).flatten(1).mean(1) / self.swap_change[k]).mean(),
                 "log_odds": through_phi.mean().detach()}
        if closed:
            pixels = self.generator.decode(x0_r, output="tensor").clamp(0, 1)
            from_pixels = log_odds(token_probs_by_prompt(self.vlm, self.vlm.visual_tokens(pixels), prefixes))
            terms["pixels"] = F.softplus(self.margin - from_pixels).mean()
        return terms
