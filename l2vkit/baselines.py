"""The baselines steering is compared with, for any generator Ξ, VLM Ω and coupling Φ.

- **prompt swap** (:func:`prompt_swap`): sample π⁺ itself, i.e. the captions with the pair's source word replaced by
  its target word, from the same noise as the steered run;
- **unweighted Δv** (:func:`unweighted_concepts`): a concept bank trained with Δω ≡ 1, so that the VLM plays no
  part in the direction (the generator's own velocity change Δv alone);
- **LEAPS-style latent optimisation** (:func:`leaps`): optimise the sampled latents themselves to raise the target
  word's probability read through Φ and the VLM at the slot, with a temporal-smoothness penalty and a pull back to
  the unsteered latents. Nothing in the generator's condition changes.

Every function draws its noise like :func:`l2vkit.steering.steer` (a seeded CPU generator per batch), so a method
and the steered run sample the same noise for the same ``seed``. The toy world's evaluation
(``python -m l2vkit.toyworld.steering_eval``) scores them against ground truth.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch


# ------------------------------------------------------------------------------------------------- sampling
def sample_batch(generator, condition, seed: int, *, latents=None, steps: int | None = None,
                 guidance: float | None = None):
    """One batched sampling run, decoded to frames.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ.
    condition : Condition
        π for every batch element (:meth:`~l2vkit.generator.VideoGenerator.encode_prompt` of a list of captions).
    seed : int
        Seed of the CPU generator that draws the initial noise; each batch element gets its own noise from it.
    latents : torch.Tensor, optional
        Initial latents to start from instead of seeded noise (passed to the pipeline).
    steps, guidance : int, float, optional
        Sampling steps and guidance scale (the generator's defaults when ``None``).

    Returns
    -------
    SampleResult
        ``latents`` (B, C, F, h, w) and uint8 ``frames`` (B, T, H, W, 3); as with
        :meth:`~l2vkit.generator.VideoGenerator.sample`, a batch of one has frames (T, H, W, 3).
    """
    kwargs = {} if latents is None else {"latents": latents}
    return generator.sample(condition, seed=seed, steps=steps, guidance=guidance, output="frames", **kwargs)


def steered_batch(generator, captions: Sequence[str], pair_name: str, phi: float, concepts, seed: int, *,
                  steps: int | None = None, guidance: float | None = None):
    """Every caption sampled with π⁻ + φ q for one pair, in one batched run.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ the bank was trained for.
    captions : sequence of str
        The π⁻ captions; with a bank that records reference captions each holds the pair's source word (or its
        target word, for φ < 0), whose tokens take the slot's rows (:mod:`l2vkit.concepts.placement`).
    pair_name : str
        The pair whose concept vector q is added.
    phi : float
        Its strength φ (0 gives the unsteered sample, bitwise).
    concepts : ConceptBank
        The bank holding q (the L2V bank, or the unweighted one of :func:`unweighted_concepts`).
    seed : int
        Noise seed, as in :func:`sample_batch`.
    steps, guidance : int, float, optional
        Sampling steps and guidance scale (the generator's defaults when ``None``).

    Returns
    -------
    SampleResult
        ``latents`` and uint8 ``frames`` (B, T, H, W, 3).
    """
    from .concepts.placement import generator_tokenizer
    from .steering import steered_condition

    captions = list(captions)
    condition = steered_condition(generator.encode_prompt(captions), {pair_name: phi}, concepts, captions=captions,
                                  tokenizer=generator_tokenizer(generator))
    return sample_batch(generator, condition, seed, steps=steps, guidance=guidance)


def _caption_list(captions) -> list[str]:
    captions = [captions] if isinstance(captions, str) else list(captions)
    if not captions or not all(isinstance(c, str) and c.strip() for c in captions):
        raise ValueError("captions must be a non-empty caption string or a non-empty list of them")
    return captions


def _swapped(pair, captions: list[str]) -> list[str]:
    from .concepts import swap_word

    out = []
    for i, caption in enumerate(captions):
        try:
            out.append(swap_word(pair, caption))
        except ValueError as err:
            raise ValueError(f"captions[{i}]: {err}") from None
    return out


# -------------------------------------------------------------------------------------------- (a) prompt swap
def prompt_swap(generator, captions, pair, *, seed: int = 0, steps: int | None = None,
                guidance: float | None = None):
    """Baseline (a): sample the target caption π⁺ from the same noise as the steered run.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ.
    captions : str or sequence of str
        The π⁻ captions; each must hold the pair's source word exactly once.
    pair : ContrastPair
        The pair (:class:`l2vkit.pairs.ContrastPair`, or ``bank.spec(name)``) whose source word is swapped for its
        target word.
    seed : int
        Noise seed; the same ``seed`` as :func:`l2vkit.steering.steer` or :func:`steered_batch` gives the same noise.
    steps, guidance : int, float, optional
        Sampling steps and guidance scale (the generator's defaults when ``None``).

    Returns
    -------
    SampleResult
        ``latents`` (B, C, F, h, w) and uint8 ``frames`` (B, T, H, W, 3), one per caption ((T, H, W, 3) for a
        single caption): exactly ``generator.sample(generator.encode_prompt(swapped), seed=seed, output="frames")``.

    Raises
    ------
    ValueError
        When a caption does not hold the pair's source word exactly once (the error names the caption).
    """
    swapped = _swapped(pair, _caption_list(captions))
    return sample_batch(generator, generator.encode_prompt(swapped), seed, steps=steps, guidance=guidance)


# ------------------------------------------------------------------------------------------ (b) unweighted Δv
def unweighted_concepts(generator, cache, pairs: Sequence, **train_kwargs):
    """Baseline (b): a concept bank trained with Δω ≡ 1 (the generator's Δv alone, no VLM in the loop).

    The weighting lives in the cache (its ``dw``); this trains on a copy of ``cache`` with every Δω set to 1. z_t, t,
    G(z_t, π⁻, t) and Δv do not depend on the weighting, so the result is the bank that
    :func:`~l2vkit.concepts.train_concepts` gives on ``build_concept_cache(..., divergence_kind="none")`` with the
    same settings, without building a second cache; the weighted and the unweighted bank then share their samples.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ the cache was built with.
    cache : ConceptCache
        A cache from :func:`~l2vkit.concepts.build_concept_cache` (any divergence); it is not modified.
    pairs : sequence of ContrastPair
        The cache's pairs, in its order.
    **train_kwargs
        Passed to :func:`~l2vkit.concepts.train_concepts` (``steps``, ``lr``, ``batch_per_pair``, ``seed``,
        ``progress``, ``checkpoint``, …).

    Returns
    -------
    ConceptBank
        The unweighted bank; its ``meta["cache"]["divergence"]`` is ``"none"``.
    """
    import torch

    from .concepts import ConceptCache, train_concepts

    if not isinstance(cache, ConceptCache):
        raise TypeError(f"cache must be a ConceptCache (from build_concept_cache), got {type(cache).__name__}")
    meta = {**cache.meta, "divergence": "none", "weighting_removed_from": cache.meta.get("divergence")}
    flat = dataclasses.replace(cache, dw=torch.ones_like(cache.dw), meta=meta)
    return train_concepts(generator, flat, pairs, **train_kwargs)


# ----------------------------------------------------------------------------------------------- (c) LEAPS
@dataclasses.dataclass
class LeapsResult:
    """What :func:`leaps` returns: the optimised ``latents`` (B, C, F, h, w), their uint8 ``frames``
    (B, T, H, W, 3), the unsteered sample's latents ``start`` they were optimised from, the loss at every
    optimisation step (``losses``, before each update), the ``captions``, the VLM's ``prefixes`` at the slot, the
    ``target`` word and the ``seed``."""

    latents: "torch.Tensor"
    frames: np.ndarray
    start: "torch.Tensor"
    losses: list
    captions: list
    prefixes: list
    target: str
    seed: int


def _check_leaps_settings(steps, lr, smooth, prior) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps={steps!r}; expected a positive integer (optimisation steps)")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr={lr!r}; expected a positive learning rate")
    for name, value in (("smooth", smooth), ("prior", prior)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}={value!r}; expected a weight ≥ 0")


def _leaps_optimise(vlm, coupling, z0, condition, prefixes, target, *, steps, lr, smooth, prior):
    import torch

    from .concepts import token_probs_by_prompt

    z = z0.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    target_id = vlm.word_ids(target)[0]
    losses = []
    for _ in range(steps):
        probs = token_probs_by_prompt(vlm, coupling.read(z, condition), prefixes, coupling=coupling).vocab
        log_p = probs[:, target_id].clamp_min(1e-12).log().sum()
        temporal = (z[:, :, 1:] - z[:, :, :-1]).pow(2).mean()
        loss = -log_p / len(prefixes) + smooth * temporal + prior * (z - z0).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return z.detach(), losses


def leaps_latents(generator, vlm, coupling, z0, condition, prefixes, target: str, *, steps: int = 30,
                  lr: float = 0.05, smooth: float = 1.0, prior: float = 0.1):
    """LEAPS-style activation maximisation from given latents (the core of :func:`leaps`).

    Adam on the latents z (from ``z0``) minimising −mean log p(target | Φ(z, π), prefix) + ``smooth`` · mean squared
    difference of consecutive latent frames + ``prior`` · mean squared distance to ``z0``.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ (kept for a uniform signature; the latents are optimised directly).
    vlm : VideoVLM
        The VLM Ω that reads the slot.
    coupling : CouplingResult
        Φ, reading latents as the VLM's visual tokens.
    z0 : torch.Tensor
        The starting latents (B, C, F, h, w), usually the unsteered sample's.
    condition : Condition
        π⁻ for the batch (Φ reads latents with their condition).
    prefixes : sequence of str
        One VLM prompt per batch element: the caption's words before the slot (:func:`l2vkit.concepts.slot_prefix`).
    target : str
        The word whose probability is raised (its first token when it has several).
    steps : int
        Optimisation steps.
    lr : float
        Adam's learning rate.
    smooth, prior : float
        Weights of the temporal-smoothness and the pull-to-``z0`` terms.

    Returns
    -------
    torch.Tensor
        The optimised latents, detached, same shape as ``z0``.
    """
    _check_leaps_settings(steps, lr, smooth, prior)
    return _leaps_optimise(vlm, coupling, z0, condition, prefixes, target, steps=steps, lr=lr, smooth=smooth,
                           prior=prior)[0]


def leaps(generator, vlm, coupling, captions, pair, *, seed: int = 0, steps: int = 30, lr: float = 0.05,
          smooth: float = 1.0, prior: float = 0.1, sample_steps: int | None = None,
          guidance: float | None = None) -> LeapsResult:
    """Baseline (c): LEAPS-style latent optimisation towards the pair's target word, read through Φ and the VLM.

    Samples the captions unsteered (noise ``seed``), then optimises those final latents with
    :func:`leaps_latents` and decodes them. The generator's condition never changes, and the VLM reads only
    through Φ: a high P(target) here need not show in the pixels.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ.
    vlm : VideoVLM
        The VLM Ω that reads the slot; both pair words must be scorable by it.
    coupling : CouplingResult
        Φ, fitted for ``vlm`` and ``generator``.
    captions : str or sequence of str
        The π⁻ captions; each must hold the pair's source word exactly once.
    pair : ContrastPair
        The pair whose ``target`` word's probability is raised.
    seed : int
        Noise seed of the unsteered sample the optimisation starts from.
    steps : int
        Optimisation steps (positive).
    lr : float
        Adam's learning rate (positive).
    smooth, prior : float
        Weights (≥ 0) of the temporal-smoothness penalty and of the pull back to the unsteered latents.
    sample_steps, guidance : int, float, optional
        Sampling steps and guidance scale of the unsteered sample (the generator's defaults when ``None``).

    Returns
    -------
    LeapsResult
        The optimised latents and frames, the starting latents and the loss per step.

    Raises
    ------
    ValueError
        For a caption without the pair's source word, ``steps`` or ``lr`` not positive, a negative weight, or a
        coupling fitted for other models.
    """
    from .concepts import check_pair, slot_prefix

    captions = _caption_list(captions)
    _check_leaps_settings(steps, lr, smooth, prior)
    _swapped(pair, captions)  # every caption must hold the source word once
    check_pair(pair, vlm)
    coupling.check_models(vlm=vlm, generator=generator)
    prefixes = [slot_prefix(pair, c) for c in captions]
    base = generator.encode_prompt(captions)
    start = sample_batch(generator, base, seed, steps=sample_steps, guidance=guidance).latents
    latents, losses = _leaps_optimise(vlm, coupling, start, base, prefixes, pair.target, steps=steps, lr=lr,
                                      smooth=smooth, prior=prior)
    return LeapsResult(latents=latents, frames=generator.decode(latents), start=start, losses=losses,
                       captions=captions, prefixes=prefixes, target=pair.target, seed=int(seed))


# ------------------------------------------------------------------------------------------------- reading
def target_read(vlm, coupling, latents, condition, prefixes, pair) -> tuple[np.ndarray, np.ndarray]:
    """The pair's target word read through Φ: renormalised probability and log-odds, per batch element.

    Parameters
    ----------
    vlm : VideoVLM
        The VLM Ω.
    coupling : CouplingResult
        Φ.
    latents : torch.Tensor
        (B, C, F, h, w) latents to read (a sample's, or :func:`leaps`'s).
    condition : Condition
        The condition Φ reads them with (the *unsteered* π⁻, so that only the latents carry a change).
    prefixes : sequence of str
        One VLM prompt per batch element (:func:`l2vkit.concepts.slot_prefix`).
    pair : ContrastPair
        The pair whose source and target words are compared.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        P(target) renormalised over the pair's two words (float32, (B,)), and the log-odds
        log p(target) − log p(source) (float64, (B,)). The log-odds order elements as P does, but do not saturate
        at 0 or 1.
    """
    import torch

    from .concepts import token_probs_by_prompt

    with torch.no_grad():
        read = token_probs_by_prompt(vlm, coupling.read(latents, condition), prefixes, [pair.source, pair.target],
                                     coupling=coupling)
    return _target_and_log_odds(read)


def _target_and_log_odds(read) -> tuple[np.ndarray, np.ndarray]:
    """P(target) renormalised over the pair's two words, and log p(target) − log p(source), of a two-word read."""
    log_p = read.candidates.double().clamp_min(1e-300).log()
    return read.renormalised[:, 1].float().cpu().numpy(), (log_p[:, 1] - log_p[:, 0]).cpu().numpy()


def pixel_read(vlm, videos, prefixes, pair) -> tuple[np.ndarray, np.ndarray]:
    """The pair's target word read in closed loop: the VLM on the decoded pixels, through its own preprocessing (no
    Φ) — what the VLM would say about the video a viewer sees. Same returns as :func:`target_read`.

    Parameters
    ----------
    vlm : VideoVLM
        The VLM Ω.
    videos : numpy.ndarray
        uint8 videos (B, T, H, W, 3).
    prefixes : sequence of str
        One VLM prompt per video (:func:`l2vkit.concepts.slot_prefix`).
    pair : ContrastPair
        The pair whose source and target words are compared.
    """
    import torch

    from .concepts import token_probs_by_prompt

    with torch.no_grad():
        read = token_probs_by_prompt(vlm, vlm.visual_tokens(np.asarray(videos)), list(prefixes),
                                     [pair.source, pair.target])
    return _target_and_log_odds(read)


def readings_disagree(via_phi, from_pixels) -> np.ndarray:
    """Per video, whether the reading through Φ and the closed-loop reading name different words of the pair (one
    reads P(target) above 0.5, the other below): Φ is then fooled, or reads what the pixels do not show."""
    return (np.asarray(via_phi) > 0.5) != (np.asarray(from_pixels) > 0.5)
