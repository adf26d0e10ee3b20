"""Concept vectors q_o: one direction in the generator's condition space per contrast pair o = (π⁻, π⁺).

For noisy latents z_t on the generator's own trajectories under π⁻:

- Δv = G(z_t, π⁺, t) − G(z_t, π⁻, t), the velocity change the caption edit asks for;
- Δω = D(ω⁻, ω⁺), how much the VLM's distribution at the edited slot changes when it reads the two clean-latent
  estimates x̂0± = z_t − σ G(z_t, π±, t) through the coupling Φ (D: Hellinger by default, KL or JS);
- q_o minimises ‖sg[G(z_t, π⁻, t) + Δω·Δv] − G(z_t, π⁻ + Δω·q_o, t)‖² with G, Φ and the VLM frozen.

Everything that does not depend on q_o (z_t, t, G(z_t, π⁻, t), Δv, Δω) is computed once (:func:`build_concept_cache`),
so a training step costs one forward and one backward of G for all pairs at once (:func:`train_concepts`).
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

FORMAT_VERSION = 1
METADATA_KEY = "l2vkit_concepts"
DIVERGENCES = ("hellinger", "kl", "js", "none")
#: Where Δω reads x̂0±: on the π⁻ and π⁺ trajectories of the same noise (default), or both from π⁻'s z_t.
OMEGA_READS = ("two_paths", "same_latent")


# --------------------------------------------------------------------------------------------- divergences
def divergence(p, q, kind: str = "hellinger"):
    """D(p, q) per row of two (B, V) probability tensors. ``"hellinger"`` (1/√2)‖√p − √q‖ ∈ [0, 1] (default),
    ``"kl"`` KL(p‖q), ``"js"`` Jensen–Shannon (nats, ≤ ln 2); ``"none"`` is 1 everywhere (the unweighted baseline).

    >>> import torch
    >>> p = torch.tensor([[1.0, 0.0]]); q = torch.tensor([[0.0, 1.0]])
    >>> round(float(divergence(p, q)), 4), round(float(divergence(p, p)), 4)
    (1.0, 0.0)
    """
    import torch

    if kind not in DIVERGENCES:
        raise ValueError(f"divergence {kind!r}; choose one of {', '.join(DIVERGENCES)}")
    if p.shape != q.shape:
        raise ValueError(f"distributions have shapes {tuple(p.shape)} and {tuple(q.shape)}")
    if kind == "none":
        return torch.ones(p.shape[:-1], dtype=p.dtype, device=p.device)
    if kind == "hellinger":
        return (p.clamp_min(0).sqrt() - q.clamp_min(0).sqrt()).norm(dim=-1) / math.sqrt(2)
    eps = 1e-12
    if kind == "kl":
        return (p * ((p + eps).log() - (q + eps).log())).sum(-1)
    m = (p + q) / 2
    return 0.5 * (p * ((p + eps).log() - (m + eps).log())).sum(-1) + 0.5 * (q * ((q + eps).log() - (m + eps).log())).sum(-1)


# ---------------------------------------------------------------------------------------------- captions
def swap_word(pair, caption: str) -> str:
    """π⁺ from π⁻: ``caption`` with the pair's source word replaced by its target word (exactly one occurrence)."""
    words = caption.split()
    hits = [i for i, w in enumerate(words) if w == pair.source]
    if not hits:
        raise ValueError(f"caption {caption!r} does not contain {pair.name!r}'s source word {pair.source!r}")
    if len(hits) > 1:
        raise ValueError(f"caption {caption!r} contains {pair.source!r} {len(hits)} times; the edited slot is ambiguous")
    words[hits[0]] = pair.target
    return " ".join(words)


def slot_prefix(pair, caption: str) -> str:
    """The caption's words before the pair's source word: the VLM's prompt for reading the slot."""
    words = caption.split()
    if pair.source not in words:
        raise ValueError(f"caption {caption!r} does not contain {pair.name!r}'s source word {pair.source!r}")
    return " ".join(words[: words.index(pair.source)])


def check_pair(pair, vlm=None, captions: Sequence[str] = ()) -> None:
    """Both words must sit at the slot of every caption and be scorable by the VLM (``word_ids``)."""
    for c in captions:
        swap_word(pair, c)
    if vlm is not None:
        for word in (pair.source, pair.target):
            vlm.word_ids(word)


# ------------------------------------------------------------------------------------------------- cache
@dataclasses.dataclass
class ConceptCache:
    """What training needs and q does not change, per sample: pair index ``pair`` (S,), latents ``z_t``, timestep
    ``t``, ``v_minus`` = G(z_t, π⁻, t), ``dv`` = Δv, ``dw`` = Δω, and the caption's π⁻ (``embeds``, ``mask``)."""

    pair: "object"
    z_t: "object"
    t: "object"
    v_minus: "object"
    dv: "object"
    dw: "object"
    embeds: "object"
    mask: "object"
    names: list
    captions: list  # (π⁻, π⁺) per sample
    meta: dict

    def __len__(self) -> int:
        return int(self.pair.shape[0])


def pair_captions(captions, pair, count: int, *, seed: int) -> list[str]:
    """The π⁻ captions of ``pair`` from ``captions``: a mapping pair name → captions, or a function
    ``(pair, count, seed=...) -> captions`` such as the toy world's ``l2vkit.toyworld.toy_captions``."""
    if captions is None:
        raise ValueError("no captions given: pass captions= as a mapping pair name → π⁻ captions, or a function "
                         "(pair, count, seed=...) → captions (the toy world's is l2vkit.toyworld.toy_captions; a pair "
                         "with a 'template' gives its caption with pair.captions()[0])")
    chosen = captions(pair, count, seed=seed) if callable(captions) else captions.get(pair.name)
    if not chosen:
        raise ValueError(f"captions has none for pair {pair.name!r}")
    return list(chosen)


def build_concept_cache(generator, vlm, coupling, pairs: Sequence, *, captions=None,
                        samples_per_pair: int = 16, timesteps_per_sample: int = 10, steps: int | None = None,
                        divergence_kind: str = "hellinger", omega_read: str = "two_paths", seed: int = 0,
                        progress: bool = True) -> ConceptCache:
    """Sample π⁻ trajectories for every pair and cache (z_t, t, G(z_t, π⁻, t), Δv, Δω) along them.

    ``captions``: the π⁻ captions of each pair, a mapping pair name → captions or a function ``(pair, count, seed=...)
    -> captions`` (see :func:`pair_captions`; the toy world's is ``l2vkit.toyworld.toy_captions``). Each caption is
    sampled once (seed ``seed + k``) and ``timesteps_per_sample`` evenly spaced steps of its
    trajectory become samples; Δv is taken at the π⁻ trajectory's z_t. Δω reads x̂0 through ``coupling`` (Φ_Ω1, no
    decode) with the VLM's whole next-token distribution at the slot, along the two paths: the π⁻ trajectory and
    the π⁺ trajectory from the same noise (``omega_read="two_paths"``, one more sampling run per pair). With
    ``"same_latent"`` both x̂0 come from the π⁻ trajectory's z_t (no extra run); there Δω falls to ≈ 0 once the
    trajectory has committed to π⁻ (the late steps), so those steps barely train q_o although steering applies it.
    """
    import torch
    from tqdm.auto import tqdm

    from .provenance import generator_identity, vlm_identity

    if divergence_kind not in DIVERGENCES:
        raise ValueError(f"divergence {divergence_kind!r}; choose one of {', '.join(DIVERGENCES)}")
    if omega_read not in OMEGA_READS:
        raise ValueError(f"omega_read={omega_read!r}; choose one of {', '.join(OMEGA_READS)}")
    if not pairs:
        raise ValueError("no contrast pairs given")
    coupling.check_models(vlm=vlm, generator=generator)
    steps = generator._check_steps(steps)
    parts = {k: [] for k in ("pair", "z_t", "t", "v_minus", "dv", "dw", "embeds", "mask")}
    sample_captions = []
    for k, pair in enumerate(tqdm(pairs, desc="concept cache", disable=not progress)):
        minus = pair_captions(captions, pair, samples_per_pair, seed=seed + 7919 * k)
        check_pair(pair, vlm, minus)
        plus = [swap_word(pair, c) for c in minus]
        cond_m, cond_p = generator.encode_prompt(minus), generator.encode_prompt(plus)
        with torch.no_grad():
            run = generator.sample(cond_m, steps=steps, seed=seed + k, return_trajectory=True)
            run_p = (generator.sample(cond_p, steps=steps, seed=seed + k, return_trajectory=True)
                     if omega_read == "two_paths" and divergence_kind != "none" else None)
        picks = np.unique(np.linspace(0, steps - 1, timesteps_per_sample).round().astype(int))
        for i in picks:
            z_t = run.trajectory[i]
            t = run.timesteps[i].float().expand(len(minus))
            sigma = generator.sigma_of(run.timesteps[i])
            with torch.no_grad():
                v_m = generator.velocity(z_t, cond_m, t).float().cpu()
                v_p = generator.velocity(z_t, cond_p, t).float().cpu()
                if run_p is None:
                    x0_p = generator.x0_estimate(z_t, v_p, sigma)
                else:  # x̂0 on the π⁺ path at the same step
                    z_p = run_p.trajectory[i]
                    x0_p = generator.x0_estimate(z_p, generator.velocity(z_p, cond_p, t).float().cpu(), sigma)
                w_m = _slot_distribution(vlm, coupling, generator.x0_estimate(z_t, v_m, sigma), cond_m, pair, minus)
                w_p = _slot_distribution(vlm, coupling, x0_p, cond_p, pair, minus)
            parts["pair"].append(torch.full((len(minus),), k))
            parts["z_t"].append(z_t.float())
            parts["t"].append(t.cpu())
            parts["v_minus"].append(v_m)
            parts["dv"].append(v_p - v_m)
            parts["dw"].append(divergence(w_m, w_p, divergence_kind).float().cpu())
            parts["embeds"].append(cond_m.embeds.float().cpu())
            parts["mask"].append(_mask_of(cond_m).cpu())
            sample_captions += list(zip(minus, plus))
    data = {k: torch.cat(v) for k, v in parts.items()}
    meta = {"samples_per_pair": samples_per_pair, "timesteps_per_sample": timesteps_per_sample, "steps": steps,
            "divergence": divergence_kind, "omega_read": omega_read, "seed": seed,
            "coupling": coupling.meta.get("created"), "generator": generator_identity(generator),
            "vlm": vlm_identity(vlm)}
    return ConceptCache(**data, names=[p.name for p in pairs], captions=sample_captions, meta=meta)


def _mask_of(condition):
    import torch

    return condition.mask if condition.mask is not None else torch.ones(condition.embeds.shape[:2], dtype=torch.bool)


def token_probs_by_prompt(vlm, tokens, prompts, candidates=None):
    """``vlm.token_probs`` with one prompt per row of ``tokens`` (B, N, D); rows sharing a prompt are read in one call.

    Returns a :class:`~l2vkit.vlm.base.TokenProbs` whose rows follow ``tokens`` (differentiable, like the VLM's).
    """
    import torch

    from .vlm.base import TokenProbs

    if len(prompts) != tokens.shape[0]:
        raise ValueError(f"{len(prompts)} prompts for {tokens.shape[0]} rows of visual tokens")
    groups = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(prompt, []).append(i)
    reads, order = [], []
    for prompt, index in groups.items():
        reads.append(vlm.token_probs(tokens[index], prompt, candidates))
        order += index
    back = torch.argsort(torch.tensor(order))

    def stack(field):
        return torch.cat([getattr(r, field) for r in reads])[back.to(reads[0].vocab.device)]

    return TokenProbs(vocab=stack("vocab"), candidates=stack("candidates"), renormalised=stack("renormalised"),
                      words=reads[0].words)


def _slot_distribution(vlm, coupling, x0, condition, pair, captions):
    """The VLM's next-token distribution at the pair's slot, reading x̂0 through Φ; one prompt per caption."""
    tokens = coupling.read(x0, condition)
    return token_probs_by_prompt(vlm, tokens, [slot_prefix(pair, c) for c in captions]).vocab.float().cpu()


# -------------------------------------------------------------------------------------------------- bank
@dataclasses.dataclass
class ConceptBank:
    """Trained concept vectors q_o (L, E) by pair name, their pairs, provenance and training history.

    ``bank.pairs`` lists the names (``"red->blue"``, …); ``bank["red->blue"]`` is q; ``bank.spec(name)`` the pair.
    """

    vectors: dict
    specs: dict
    meta: dict
    history: list = dataclasses.field(default_factory=list)

    @property
    def pairs(self) -> list[str]:
        return list(self.vectors)

    def __getitem__(self, name: str):
        if name not in self.vectors:
            raise KeyError(f"no concept {name!r} in this bank; it has {', '.join(self.pairs)}")
        return self.vectors[name]

    def __contains__(self, name) -> bool:
        return name in self.vectors

    def spec(self, name: str):
        self[name]
        return self.specs[name]

    def header(self) -> dict:
        return {"format_version": FORMAT_VERSION, "pairs": {n: dataclasses.asdict(p) for n, p in self.specs.items()},
                "meta": self.meta, "history": self.history}

    def save(self, path) -> Path:
        """``path`` (.safetensors) with the JSON header in its metadata, atomically; a readable .json copy beside."""
        from safetensors.torch import save_file

        from .io import atomic_path, write_json

        path = Path(path).with_suffix(".safetensors")
        header = self.header()
        with atomic_path(path) as tmp:
            save_file({n: v.detach().cpu().contiguous() for n, v in self.vectors.items()}, str(tmp),
                      metadata={METADATA_KEY: json.dumps(header)})
        write_json(path.with_suffix(".json"), header)
        return path

    @classmethod
    def load(cls, path, *, generator=None) -> "ConceptBank":
        """Load a bank; with ``generator`` given, refuse one trained for another generator (the error names both)."""
        from .io import load_artifact
        from .pairs import ContrastPair

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        tensors, header = load_artifact(path, "concept bank", METADATA_KEY, FORMAT_VERSION,
                                        "retrain with `l2vkit concepts`")
        specs = {n: ContrastPair(**p) for n, p in header["pairs"].items()}
        bank = cls({n: tensors[n] for n in specs}, specs, header["meta"], header.get("history", []))
        if generator is not None:
            bank.check_generator(generator)
        return bank

    def check_generator(self, generator) -> None:
        from .provenance import describe_identity, generator_identity

        saved, given = self.meta.get("generator", {}), generator_identity(generator)
        keys = ("model_id", "weights", "text_dim")
        if any(saved.get(k) != given[k] for k in keys):
            raise ValueError(f"this concept bank was trained for generator {saved.get('model_id')!r} "
                             f"({describe_identity(saved, keys[1:])}), but the generator is {given['model_id']!r} "
                             f"({describe_identity(given, keys[1:])}); train concepts for it (`l2vkit concepts`)")
        shape = tuple(next(iter(self.vectors.values())).shape)
        if shape[-1] != given["text_dim"]:
            raise ValueError(f"concept vectors have width {shape[-1]}, the generator's condition {given['text_dim']}")


# ---------------------------------------------------------------------------------------------- training
def train_concepts(generator, cache: ConceptCache, pairs: Sequence, *, steps: int = 1000, lr: float = 1e-3,
                   batch_per_pair: int = 16, seed: int = 0, loop: str = "cached", checkpoint=None,
                   checkpoint_every: int = 200, progress: bool = True, vlm=None, coupling=None) -> ConceptBank:
    """Train one q_o per pair, all pairs in one batched run, with G frozen.

    Each step draws ``batch_per_pair`` cached samples per pair and costs one forward and one backward of G
    (``loop="cached"``); ``loop="naive"`` recomputes G(z_t, π⁻, t) and G(z_t, π⁺, t) every step (three forwards;
    for the speed comparison). The paper uses 1k steps at lr 1e-4; the toy bank 3k steps at lr 1e-3. ``checkpoint``:
    a file for the resumable training state (saved atomically every ``checkpoint_every`` steps).
    """
    import torch
    from tqdm.auto import tqdm

    from .provenance import generator_identity, vlm_identity
    from .generator.base import Condition
    from .provenance import provenance
    from .training import load_state, save_state

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
    settings = {"lr": lr, "batch_per_pair": batch_per_pair, "loop": loop, "cache": cache.meta, "samples": len(cache)}
    if state is not None:
        if (state["names"] != names or state["steps"] != steps or state["seed"] != seed
                or state.get("settings") != settings):
            raise ValueError(f"checkpoint {checkpoint} is from a run with other settings; delete it to start over")
        with torch.no_grad():
            q.copy_(state["q"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = state["step"], state["history"]
        rng.set_state(state["rng"])
    by_pair = [torch.nonzero(cache.pair == k).flatten() for k in range(len(pairs))]
    plus_cache = {}
    bar = tqdm(total=steps, initial=start, desc=f"concepts ({len(pairs)} pairs)", disable=not progress)
    for step in range(start, steps):
        index = torch.cat([ix[torch.randint(0, len(ix), (batch_per_pair,), generator=rng)] for ix in by_pair])
        k = cache.pair[index]
        dw = cache.dw[index].view(-1, 1, 1)
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
        steered = Condition(embeds_m + dw * q[k], mask)
        loss = torch.nn.functional.mse_loss(generator.velocity(z_t, steered, t), target)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"concept training diverged at step {step}; lower lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        bar.update(1)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            history.append({"step": step + 1, "loss": round(float(loss.detach()), 6)})
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        if checkpoint and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
            save_state(Path(checkpoint), {"names": names, "steps": steps, "seed": seed, "settings": settings,
                                          "q": q.detach().clone(),
                                          "optimizer": optimizer.state_dict(), "step": step + 1, "history": history,
                                          "rng": rng.get_state()})
    bar.close()
    meta = provenance(generator=generator_identity(generator), vlm=vlm_identity(vlm) if vlm is not None else None,
                      coupling=None if coupling is None else coupling.meta.get("created"),
                      cache=cache.meta, steps=steps, lr=lr, batch_per_pair=batch_per_pair, seed=seed, loop=loop)
    return ConceptBank({n: q[i].detach().clone() for i, n in enumerate(names)},
                       {p.name: p for p in pairs}, meta, history)


def _plus_condition(generator, cache, index, memo):
    """π⁺ for cached samples (naive loop only), encoded once per caption."""
    from .generator.base import Condition

    import torch

    rows = []
    for i in index.tolist():
        text = cache.captions[i][1]
        if text not in memo:
            memo[text] = generator.encode_prompt(text)
        rows.append(memo[text])
    return Condition(torch.cat([r.embeds for r in rows]), None if rows[0].mask is None else torch.cat([r.mask for r in rows]))


def __getattr__(name):
    from ._deprecated import moved_attribute

    return moved_attribute(__name__, name)
