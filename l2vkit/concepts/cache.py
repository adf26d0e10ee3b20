"""The Δv/Δω cache of concept training: contrast captions, divergences, and what the VLM reads through Φ."""
from __future__ import annotations

import dataclasses
import math
import string
import warnings
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..pairs import bare_word

if TYPE_CHECKING:
    import torch

DIVERGENCES = ("hellinger", "kl", "js", "none")
#: Where Δω reads x̂0±: on the π⁻ and π⁺ trajectories of the same noise (default), or both from π⁻'s z_t.
OMEGA_READS = ("two_paths", "same_latent")
#: Which way concepts are trained: towards π⁺ from π⁻'s trajectory (the paper), or also back from π⁺'s.
DIRECTIONS = ("forward", "both")


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
def _source_index(pair, words: list[str], caption: str) -> int:
    """Where the pair's source word stands in the caption's words; case and punctuation around it do not matter."""
    hits = [i for i, w in enumerate(words) if bare_word(w) == pair.source.lower()]
    if not hits:
        raise ValueError(f"caption {caption!r} does not contain {pair.name!r}'s source word {pair.source!r}")
    if len(hits) > 1:
        raise ValueError(f"caption {caption!r} contains {pair.source!r} {len(hits)} times; the edited slot is ambiguous")
    return hits[0]


def swap_word(pair, caption: str) -> str:
    """π⁺ from π⁻: ``caption`` with the pair's source word replaced by its target word (exactly one occurrence;
    ``"Red,"`` becomes ``"Blue,"``: the punctuation around the word and a capital first letter are kept).

    >>> from l2vkit.pairs import ContrastPair
    >>> swap_word(ContrastPair("red", "blue", "colour", "attribute"), "Red, a circle moves")
    'Blue, a circle moves'
    """
    words = caption.split()
    i = _source_index(pair, words, caption)
    bare = words[i].strip(string.punctuation)
    target = pair.target[:1].upper() + pair.target[1:] if bare[:1].isupper() else pair.target
    words[i] = words[i].replace(bare, target, 1)
    return " ".join(words)


def slot_prefix(pair, caption: str) -> str:
    """The caption's words before the pair's source word: the VLM's prompt for reading the slot."""
    words = caption.split()
    return " ".join(words[: _source_index(pair, words, caption)])


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
    ``t``, ``v_minus`` = G(z_t, π⁻, t), ``dv`` = Δv, ``dw`` = Δω, and the caption's π⁻ (``embeds``, ``mask``).

    A cache built with ``directions="both"`` also holds samples that steer back: z_t on π⁺'s trajectory, the caption
    π⁺ (``embeds``), ``v_minus`` = G(z_t, π⁺, t), ``dv`` = G(z_t, π⁻, t) − G(z_t, π⁺, t) and ``sign`` −1 (q is
    subtracted there); ``sign`` is +1 for the others, and ``None`` means +1 everywhere. ``captions`` holds each
    sample's (own caption, other caption)."""

    pair: "torch.Tensor"
    z_t: "torch.Tensor"
    t: "torch.Tensor"
    v_minus: "torch.Tensor"
    dv: "torch.Tensor"
    dw: "torch.Tensor"
    embeds: "torch.Tensor"
    mask: "torch.Tensor | None"
    names: list
    captions: list  # (π⁻, π⁺) per sample; (π⁺, π⁻) for a sample that steers back
    meta: dict
    sign: "torch.Tensor | None" = None

    def signs(self):
        """``sign`` as a float tensor (S,): +1 where q is added, −1 where it is subtracted (steering back)."""
        import torch

        return torch.ones(len(self)) if self.sign is None else self.sign.float()

    def __len__(self) -> int:
        return int(self.pair.shape[0])

    def signal(self) -> list[dict]:
        """Per pair: how large the edit is that q_o would learn — ``dv_ratio`` = mean ‖Δv‖ / mean ‖G(z_t, π⁻, t)‖ and
        ``dw`` = mean Δω. Near zero means there is nothing to learn (see :func:`negligible_pairs`)."""
        rows = []
        for k, name in enumerate(self.names):
            rows_k = self.pair == k
            dv = self.dv[rows_k].flatten(1).norm(dim=1).mean()
            v = self.v_minus[rows_k].flatten(1).norm(dim=1).mean()
            rows.append({"pair": name, "dv_ratio": float(dv / v.clamp_min(1e-12)),
                         "dw": float(self.dw[rows_k].mean())})
        return rows


#: below these a pair's cached edit is negligible: Δv under 0.1% of the velocity, or Δω under 1e-3
NEGLIGIBLE_DV_RATIO = 1e-3
NEGLIGIBLE_DW = 1e-3


def negligible_pairs(cache: ConceptCache, *, dv_ratio: float = NEGLIGIBLE_DV_RATIO,
                     dw: float = NEGLIGIBLE_DW) -> list[str]:
    """Messages for the pairs whose cached Δv or Δω is negligible (q_o would train to ≈ 0), naming the figures.

    A generator that does not tell the two captions apart (random weights, a word its text encoder does not know)
    gives Δv ≈ 0; a VLM that reads no difference through Φ gives Δω ≈ 0. Either way the trained vector is empty.
    """
    found = []
    for row in cache.signal():
        if row["dv_ratio"] < dv_ratio or row["dw"] < dw:
            found.append(f"pair {row['pair']!r} has a negligible edit: mean ‖Δv‖ is {row['dv_ratio']:.2g} of the "
                         f"velocity's norm (threshold {dv_ratio:g}) and mean Δω is {row['dw']:.2g} (threshold "
                         f"{dw:g}); its concept vector will be ≈ 0. Check that the generator's text encoder and the "
                         "VLM know both words, and that the coupling was fitted for these models")
    return found


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
                        divergence_kind: str = "hellinger", omega_read: str = "two_paths",
                        directions: str = "forward", seed: int = 0, progress: bool = True) -> ConceptCache:
    """Sample π⁻ trajectories for every pair and cache (z_t, t, G(z_t, π⁻, t), Δv, Δω) along them.

    Each caption is sampled once and ``timesteps_per_sample`` evenly spaced steps of its trajectory become samples;
    Δv is taken at the π⁻ trajectory's z_t. Δω reads x̂0 through ``coupling`` (Φ_Ω1, no decode) with the VLM's
    whole next-token distribution at the slot.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ the concepts are for.
    vlm : VideoVLM
        The VLM Ω that reads the slot; both words of every pair must be scorable by it.
    coupling : CouplingResult
        Φ, fitted for ``vlm`` and ``generator`` (checked).
    pairs : sequence of ContrastPair
        The contrast pairs; every π⁻ caption must hold its pair's source word exactly once.
    captions : mapping or callable
        The π⁻ captions of each pair: a mapping pair name → captions, or a function ``(pair, count, seed=...) ->
        captions`` (see :func:`pair_captions`; the toy world's is ``l2vkit.toyworld.toy_captions``). Required.
    samples_per_pair : int
        The ``count`` of π⁻ captions asked of a caption function per pair (a mapping's captions are used as given).
    timesteps_per_sample : int
        Evenly spaced steps of each trajectory that become samples.
    steps : int, optional
        Sampling steps (the generator's default when ``None``).
    divergence_kind : str
        D for Δω: ``"hellinger"`` (default), ``"kl"``, ``"js"``, or ``"none"`` (Δω ≡ 1); see :func:`divergence`.
    omega_read : str
        Where Δω reads x̂0±. ``"two_paths"`` (default): along the two paths, the π⁻ trajectory and the π⁺
        trajectory from the same noise (one more sampling run per pair, skipped with ``divergence_kind="none"``).
        ``"same_latent"``: both x̂0 come from the π⁻ trajectory's z_t (no extra run); there Δω falls to ≈ 0 once
        the trajectory has committed to π⁻ (the late steps), so those steps barely train q_o although steering
        applies it.
    directions : str
        ``"forward"`` (default; the paper): samples on π⁻'s trajectory, where q is trained to steer towards π⁺.
        ``"both"``: also samples on π⁺'s trajectory from the same noise, where −q is trained to steer back towards
        π⁻ (Δv reversed, Δω read the same way), so that φ < 0 on a caption holding the target word works as well;
        twice the samples, and one more velocity per sampled step (with ``"same_latent"`` or ``"none"`` also the π⁺
        sampling run, and two more velocities).
    seed : int
        Pair k's captions are sampled in one batch with noise seed ``seed + k`` (a caption function gets
        ``seed + 7919·k``).
    progress : bool
        Show a progress bar.

    Returns
    -------
    ConceptCache
        Per sample: pair index, z_t, t, G(z_t, π⁻, t), Δv, Δω and the caption's π⁻ (with ``directions="both"``
        also the samples that steer back, π⁺ and π⁻ swapped, ``sign`` −1); the pair ``names``, each sample's (own,
        other) ``captions`` and ``meta`` (settings, the coupling's creation time and the models' identities).

    Raises
    ------
    ValueError
        For an unknown ``divergence_kind``, ``omega_read`` or ``directions``, no pairs, no captions for a pair, a
        coupling fitted for other models, a caption without its pair's source word exactly once, or a word the VLM
        cannot score.
    """
    import torch
    from tqdm.auto import tqdm

    from ..provenance import generator_identity, vlm_identity

    if divergence_kind not in DIVERGENCES:
        raise ValueError(f"divergence {divergence_kind!r}; choose one of {', '.join(DIVERGENCES)}")
    if omega_read not in OMEGA_READS:
        raise ValueError(f"omega_read={omega_read!r}; choose one of {', '.join(OMEGA_READS)}")
    if directions not in DIRECTIONS:
        raise ValueError(f"directions={directions!r}; choose one of {', '.join(DIRECTIONS)}")
    if not pairs:
        raise ValueError("no contrast pairs given")
    coupling.check_models(vlm=vlm, generator=generator)
    steps = generator.check_steps(steps)
    parts = {k: [] for k in ("pair", "z_t", "t", "v_minus", "dv", "dw", "embeds", "mask", "sign")}
    sample_captions = []
    two_paths, both = omega_read == "two_paths" and divergence_kind != "none", directions == "both"
    for k, pair in enumerate(tqdm(pairs, desc="concept cache", disable=not progress)):
        minus = pair_captions(captions, pair, samples_per_pair, seed=seed + 7919 * k)
        check_pair(pair, vlm, minus)
        plus = [swap_word(pair, c) for c in minus]
        cond_m, cond_p = generator.encode_prompt(minus), generator.encode_prompt(plus)
        with torch.no_grad():
            run = generator.sample(cond_m, steps=steps, seed=seed + k, return_trajectory=True)
            run_p = (generator.sample(cond_p, steps=steps, seed=seed + k, return_trajectory=True)
                     if two_paths or both else None)
        picks = np.unique(np.linspace(0, steps - 1, timesteps_per_sample).round().astype(int))
        for i in picks:
            t = run.timesteps[i].float().expand(len(minus))
            sigma = generator.sigma_of(run.timesteps[i])
            on_minus = _on_path(generator, run.trajectory[i], cond_m, cond_p, t, sigma)
            on_plus = (None if run_p is None else
                       _on_path(generator, run_p.trajectory[i], cond_p, cond_m if both else None, t, sigma))
            dw, dw_back = _delta_omega(vlm, coupling, pair, minus, (cond_m, cond_p), on_minus, on_plus,
                                       divergence_kind, two_paths, both)
            samples = [(on_minus, cond_m, dw, 1.0, list(zip(minus, plus)))]
            if both:
                samples.append((on_plus, cond_p, dw_back, -1.0, list(zip(plus, minus))))
            for path, own, weight, sign, texts in samples:
                parts["pair"].append(torch.full((len(minus),), k))
                parts["z_t"].append(path["z_t"])
                parts["t"].append(t.cpu())
                parts["v_minus"].append(path["v_own"])
                parts["dv"].append(path["v_other"] - path["v_own"])
                parts["dw"].append(weight)
                parts["embeds"].append(own.embeds.float().cpu())
                parts["mask"].append(mask_of(own).cpu())
                parts["sign"].append(torch.full((len(minus),), sign))
                sample_captions += texts
    data = {k: torch.cat(v) for k, v in parts.items()}
    meta = {"samples_per_pair": samples_per_pair, "timesteps_per_sample": timesteps_per_sample, "steps": steps,
            "divergence": divergence_kind, "omega_read": omega_read, "directions": directions, "seed": seed,
            "coupling": coupling.meta.get("created"), "generator": generator_identity(generator),
            "vlm": vlm_identity(vlm)}
    cache = ConceptCache(**data, names=[p.name for p in pairs], captions=sample_captions, meta=meta)
    for message in negligible_pairs(cache):
        warnings.warn(message, stacklevel=2)
    return cache


def _delta_omega(vlm, coupling, pair, minus, conditions, on_minus, on_plus, kind, two_paths, both):
    """Δω of the forward samples and of those that steer back (``None`` unless ``both``). x̂0 under π⁻ and under π⁺
    are read each on its own path (``two_paths``), or both from the sample's own z_t."""
    import torch

    if kind == "none":  # Δω ≡ 1: nothing to read
        ones = torch.ones(len(minus))
        return ones, ones if both else None
    cond_m, cond_p = conditions
    with torch.no_grad():
        w_m = _slot_distribution(vlm, coupling, on_minus["x0_own"], cond_m, pair, minus)
        w_p = _slot_distribution(vlm, coupling, on_plus["x0_own"] if two_paths else on_minus["x0_other"],
                                 cond_p, pair, minus)
        dw = divergence(w_m, w_p, kind).float().cpu()
        if not both:
            return dw, None
        if two_paths:  # from π⁺'s path back: the same reads, mirrored
            return dw, divergence(w_p, w_m, kind).float().cpu()
        own = _slot_distribution(vlm, coupling, on_plus["x0_own"], cond_p, pair, minus)
        other = _slot_distribution(vlm, coupling, on_plus["x0_other"], cond_m, pair, minus)
        return dw, divergence(own, other, kind).float().cpu()


def _on_path(generator, z_t, own, other, t, sigma) -> dict:
    """At ``z_t``: the velocities under the sample's ``own`` condition and the ``other`` one (skipped when ``None``),
    and the x̂0 each gives."""
    import torch

    with torch.no_grad():
        out = {"z_t": z_t.float(), "v_own": generator.velocity(z_t, own, t).float().cpu()}
        out["x0_own"] = generator.x0_estimate(z_t, out["v_own"], sigma)
        if other is not None:
            out["v_other"] = generator.velocity(z_t, other, t).float().cpu()
            out["x0_other"] = generator.x0_estimate(z_t, out["v_other"], sigma)
    return out


def mask_of(condition):
    import torch

    return condition.mask if condition.mask is not None else torch.ones(condition.embeds.shape[:2], dtype=torch.bool)


def token_probs_by_prompt(vlm, tokens, prompts, candidates=None, *, coupling=None):
    """``vlm.token_probs`` with one prompt per row of ``tokens`` (B, N, D); rows sharing a prompt are read in one call.
    Tokens that are Φ's output are read with the token layout ``coupling`` was fitted on, when it recorded one.

    Returns a :class:`~l2vkit.vlm.base.TokenProbs` whose rows follow ``tokens`` (differentiable, like the VLM's).
    """
    import torch

    from ..vlm.base import TokenProbs

    if len(prompts) != tokens.shape[0]:
        raise ValueError(f"{len(prompts)} prompts for {tokens.shape[0]} rows of visual tokens")
    groups = {}
    for i, prompt in enumerate(prompts):
        groups.setdefault(prompt, []).append(i)
    reads, order = [], []
    for prompt, index in groups.items():
        rows = tokens[index]
        inputs = None if coupling is None else coupling.reader_inputs(vlm, rows)  # the layout Φ was fitted on
        reads.append(vlm.token_probs(rows, prompt, candidates, inputs=inputs))
        order += index
    back = torch.argsort(torch.tensor(order))

    def stack(field):
        return torch.cat([getattr(r, field) for r in reads])[back.to(reads[0].vocab.device)]

    return TokenProbs(vocab=stack("vocab"), candidates=stack("candidates"), renormalised=stack("renormalised"),
                      words=reads[0].words)


def _slot_distribution(vlm, coupling, x0, condition, pair, captions):
    """The VLM's next-token distribution at the pair's slot, reading x̂0 through Φ; one prompt per caption."""
    tokens = coupling.read(x0, condition)
    prompts = [slot_prefix(pair, c) for c in captions]
    return token_probs_by_prompt(vlm, tokens, prompts, coupling=coupling).vocab.float().cpu()


# -------------------------------------------------------------------------------------------------- bank
