"""Steered sampling: generate with π⁻ + Σ_k φ_k q_k, optionally only in a window of steps or on some frames.

Everything goes through :meth:`VideoGenerator.sample` — the pipeline's own ``__call__`` with ``prompt_embeds`` and
its step-end callback — so no pipeline code is copied. With every φ = 0 and no window or frame mask the call is
exactly the unsteered one (bitwise the same video).
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from .pairs import held_word  # noqa: F401  (part of the steering API)
from .steering_controls import (PHI_LIMIT, _check_window, _latent_frame_mask,  # noqa: F401
                                latent_to_video_frame_mask, outside_range, steps_in_window,
                                video_to_latent_frame_mask, warn_outside_ranges)

if TYPE_CHECKING:
    import torch

#: φ beyond this is refused: 50× the range concepts act in, and φ·Δ of larger values overflows half precision.
PHI_MAX = 100.0
DEFAULT_PHIS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclasses.dataclass
class SteeringResult:
    """Videos steered from one caption and seed, one per setting (what :func:`steer` and :func:`sweep` return).

    Attributes
    ----------
    caption : str
        The caption π⁻ every setting steers.
    settings : list of dict
        The S settings, each a ``{pair: φ}`` dict.
    videos : numpy.ndarray
        uint8 (S, T, H, W, 3), one video per setting in ``settings``.
    latents : torch.Tensor
        The final latents (S, C, F, h, w), on the CPU. With a frame mask they do not decode to ``videos`` exactly:
        the frames outside the mask are the unsteered video's own pixels (see ``steered_frames``).
    probs : list of dict, optional
        With a VLM and a coupling: for each setting, the VLM's probabilities ``{word: p}`` of the first pair's source
        and target words at its slot, read through Φ from the final latent (with the *unsteered* caption's
        condition, so only the latent carries the change); ``None`` otherwise.
    pixel_probs : list of dict, optional
        The closed-loop reading beside ``probs``: the same words' probabilities read by the VLM from each decoded
        video's pixels, through its own preprocessing (no Φ). Where the two disagree, Φ reads what the video does not
        show (:meth:`reading_gap`).
    words : (str, str), optional
        The first pair's (source, target) words that ``probs`` holds — (target, source) when the caption holds the
        target word and steers back; ``None`` when nothing was read.
    seed : int
        Seed of the initial noise (the same for every setting).
    steps : int
        Sampling steps.
    window : (float, float), optional
        The steered window (start, end) as fractions of the sampling steps; ``None`` when every step was steered.
    frame_mask : list of bool, optional
        The steered latent frames (one per latent frame); ``None`` when every frame was steered.
    steered_frames : list of bool, optional
        The video frames that show the steered sample (one per video frame): every frame of a steered latent frame.
        The others are the unsteered video's own frames. ``None`` when every frame was steered.
    outside_range : list of bool, optional
        Per setting, whether any φ lies outside its pair's strength range (:func:`outside_range`); plots and
        players mark those settings with ⚠.
    provenance : dict
        The software that produced the result (:func:`l2vkit.provenance.provenance`) with the generator's
        identity, seed, steps, guidance and the concept bank's creation time.
    """

    caption: str
    settings: list
    videos: np.ndarray
    latents: "torch.Tensor"
    probs: list | None
    words: tuple | None
    seed: int
    steps: int
    window: tuple | None
    frame_mask: list | None
    provenance: dict
    steered_frames: list | None = None
    outside_range: list | None = None
    pixel_probs: list | None = None

    @property
    def video(self) -> np.ndarray:
        """The video (T, H, W, 3) of a single setting; for a sweep, the last (strongest) one."""
        return self.videos[-1]

    @property
    def phis(self) -> list[float]:
        """φ of the swept pair per setting (the first pair's φ)."""
        return [float(next(iter(s.values()))) if s else 0.0 for s in self.settings]

    def target_probability(self, read: str = "phi") -> list[float] | None:
        """P(target word) renormalised over the pair's two words, per setting: read through Φ (``read="phi"``) or in
        closed loop from the decoded pixels (``read="pixels"``)."""
        if read not in ("phi", "pixels"):
            raise ValueError(f"read={read!r}; choose 'phi' or 'pixels'")
        probs = self.probs if read == "phi" else self.pixel_probs
        if probs is None:
            return None
        return [p[self.words[1]] / max(p[self.words[0]] + p[self.words[1]], 1e-12) for p in probs]

    def reading_gap(self) -> list[float] | None:
        """Per setting, |P(target) through Φ − P(target) from the pixels|: how far Φ reads what the video does not
        show (0: the two agree)."""
        via_phi, pixels = self.target_probability(), self.target_probability("pixels")
        if via_phi is None or pixels is None:
            return None
        return [abs(a - b) for a, b in zip(via_phi, pixels)]

    def measure(self, measure) -> list:
        """``measure(video)`` for every video: a ground-truth reader such as the toy world's
        ``l2vkit.toyworld.measure_or_none`` (the attributes read from the pixels, ``None`` where no object is found)."""
        return [measure(v) for v in self.videos]

    def plot(self, *, frames: Sequence[int] | None = None, show: bool = False):
        """A frame grid: one row per setting, ``frames`` as columns. Returns ``(fig, ax)``."""
        from .video import contact_sheet

        fig, axes = contact_sheet({self._label(k): v for k, v in enumerate(self.videos)}, frames=frames,
                                  title=self.caption)
        if show:
            from .figures import show_figure

            show_figure(fig)
        return fig, axes

    def show(self, **kwargs):
        """Play the videos side by side in a notebook (mediapy)."""
        from .video import show_videos

        return show_videos({self._label(k): v for k, v in enumerate(self.videos)}, **kwargs)

    def _label(self, k: int) -> str:
        mark = " ⚠" if self.outside_range and self.outside_range[k] else ""
        return (", ".join(f"{n} φ={v:g}" for n, v in self.settings[k].items()) or "unsteered") + mark


def _check_strengths(strengths: Mapping[str, float], concepts) -> dict[str, float]:
    if not isinstance(strengths, Mapping):
        raise TypeError("strengths must be a mapping {pair name: φ}, e.g. {'red->blue': 1.0}")
    out, seen = {}, set()
    for asked, phi in strengths.items():
        name, sign = reverse_name(asked, concepts)
        if isinstance(phi, bool) or not isinstance(phi, (int, float, np.integer, np.floating)):
            raise TypeError(f"φ for {asked!r} is {phi!r}; expected a number")
        phi = float(phi)
        if not np.isfinite(phi) or abs(phi) > PHI_MAX:  # float64-finite is not enough: 1e39 overflows float32
            raise ValueError(f"φ for {asked!r} is {phi:g}; expected a finite number in [−{PHI_MAX:g}, {PHI_MAX:g}] "
                             "(each concept's measured range is far smaller: bank.strength_range(name))")
        words = _word_pair(concepts, name)
        if name in out or words in seen:
            raise ValueError(f"{name!r} is set twice (once by its reverse name); give one strength")
        seen.add(words)
        out[name] = sign * phi
    return out


def _word_pair(concepts, name: str):
    """The pair's slot and its two words, whichever way round (a pair and its reverse edit the same two words)."""
    spec = concepts.spec(name)
    return spec.slot, frozenset((spec.source, spec.target))


def reverse_name(name: str, concepts) -> tuple[str, float]:
    """(the bank's pair name, +1) for a pair of the bank (or a pair a concept network gives); ("red->blue", −1) for
    its reverse "blue->red": φ on the reverse name is −φ on the pair (towards the source word). ``KeyError`` naming
    the bank's pairs (or why a network cannot give it) otherwise."""
    if name in concepts:
        return name, 1.0
    for pair in getattr(concepts, "pairs", ()):
        spec = concepts.spec(pair)
        if name == f"{spec.target}->{spec.source}":
            return pair, -1.0
    concepts[name]  # KeyError naming the bank's pairs
    raise KeyError(name)  # pragma: no cover - concepts[name] raised


def steered_condition(base, strengths: Mapping[str, float], concepts, *, captions=None, tokenizer=None):
    """π⁻ + Σ_k φ_k q_k: ``base`` (the caption's encoded Condition, any batch) with each concept vector added at its
    strength (a φ of 0 adds nothing, so all-zero strengths give ``base``'s values exactly).

    Given the ``captions`` ``base`` encodes and the generator's ``tokenizer``, each q's rows go to the tokens that play
    their part in each caption, whatever its word order (:mod:`l2vkit.concepts.placement`; banks that record no
    reference captions, and the labs' plain dicts, add q as trained). A pair that comes from a concept network
    (:class:`~l2vkit.concepts.resolve.ConceptsWithNetwork`) gets q computed for each caption."""
    import torch

    from .concepts.placement import place, placed_rows

    embeds = base.embeds
    if isinstance(captions, str):
        captions = [captions]
    if captions is not None and len(captions) != embeds.shape[0]:
        raise ValueError(f"{len(captions)} captions for a condition of batch {embeds.shape[0]}; give one per row")
    for name, phi in strengths.items():
        if phi == 0.0:
            continue
        per_caption = getattr(concepts, "caption_vectors", None)  # a concept network computes q per caption
        q = None if per_caption is None or captions is None else per_caption(name, captions)
        if q is not None:
            embeds = embeds + phi * q.to(embeds.device, embeds.dtype)
            continue
        q = concepts[name].to(embeds.device, embeds.dtype)
        references = concepts.references(name) if hasattr(concepts, "references") else None
        if captions is not None and tokenizer is not None and references:
            spec, length = concepts.spec(name), q.shape[0]
            q = torch.stack([place(q, placed_rows(tokenizer, spec, references, c, length)) for c in captions])
        embeds = embeds + phi * q
    return base.with_embeds(embeds)


def steer(generator, caption: str, strengths: Mapping[str, float], *, concepts, seed: int = 0,
          steps: int | None = None, guidance: float | None = None, window=None, frame_mask=None, frame_indices=None,
          vlm=None, coupling=None, callback_on_step_end=None,
          callback_on_step_end_tensor_inputs=None, warn_range: bool = True) -> SteeringResult:
    """Sample ``caption`` steered by ``strengths`` = ``{pair name: φ}``: the condition π⁻ + Σ φ·q.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ the concept bank was trained for.
    caption : str
        The caption π⁻, in any word order: each q's rows go to the words that play their part in it
        (:mod:`l2vkit.concepts.placement`). It holds each pair's source word once, or its target word to steer back
        towards the source word with φ < 0.
    strengths : mapping of str to float
        ``{pair name: φ}``; φ = 0 is the unsteered video, 1 the concept's full strength. A pair's reverse name
        (``"blue->red"`` for ``"red->blue"``) sets −φ.
    concepts : ConceptBank or ConceptsWithNetwork
        The trained directions q (:func:`l2vkit.concepts.train_concepts` or a saved bank), or a bank that falls back
        on a concept network for the pairs it lacks (:class:`~l2vkit.concepts.resolve.ConceptsWithNetwork`).
    seed : int
        Seed of the CPU generator that draws the initial noise (the same noise for every setting).
    steps, guidance : int, float, optional
        Sampling steps and guidance scale (the generator's defaults when ``None``).
    window : (float, float), optional
        Steer only the sampling steps i with start ≤ i/steps < end (0 = the first, noisiest step; coarse layout is
        set early, details late).
    frame_mask : sequence of bool, optional
        Booleans, one per video frame (or latent frame); unmasked frames follow the unsteered trajectory (costs one
        more sampling run). Numbers are refused: name frames with ``frame_indices``.
    frame_indices : sequence of int, optional
        The video frames to steer, by number from 0 (instead of ``frame_mask``).
    vlm, coupling : VideoVLM, CouplingResult, optional
        Given both, the result holds the VLM's probabilities of the first pair's words read through Φ (``probs``)
        and, in closed loop, from each decoded video's pixels (``pixel_probs``).
    callback_on_step_end, callback_on_step_end_tensor_inputs : optional
        A diffusers step-end callback of yours, chained with steering's own (see
        :meth:`l2vkit.generator.VideoGenerator.sample`).
    warn_range : bool
        Warn when a φ lies outside its pair's measured strength range (:func:`outside_range`); the result marks it
        either way (``result.outside_range``). The logit editor shows it in its summary instead.

    Returns
    -------
    SteeringResult
        ``videos`` (one uint8 video per setting), final ``latents``, ``probs`` when read, and provenance.

    Examples
    --------
    ::

        bank = l2vkit.toyworld.load_concepts()
        result = steer(generator, "a small red circle moves slowly up in the sea", {"red->blue": 1.0},
                       concepts=bank, seed=0)
        result.video.shape   # (9, 32, 32, 3)
    """
    return _run(generator, caption, [strengths], concepts=concepts, seed=seed, steps=steps, guidance=guidance,
                window=window, frame_mask=frame_mask, frame_indices=frame_indices, vlm=vlm, coupling=coupling,
                callback_on_step_end=callback_on_step_end,
                callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs, warn_range=warn_range)


def sweep(generator, caption: str, pair, phis: Sequence[float] = DEFAULT_PHIS, *, concepts, seed: int = 0,
          others: Mapping[str, float] | None = None, **kwargs) -> SteeringResult:
    """:func:`steer` at every φ in ``phis`` for ``pair``, with the same seed (the same initial noise) throughout.

    Parameters
    ----------
    generator : VideoGenerator
        The generator Ξ the concept bank was trained for.
    caption : str
        The caption π⁻, in any word order; it holds each swept or held pair's source word (or its target word, swept
        back with φ < 0).
    pair : str or sequence of str
        A pair name, or several names all set to the same φ (a composition).
    phis : sequence of float
        The strengths φ to sweep, in order (default ``DEFAULT_PHIS`` = 0, 0.25, 0.5, 0.75, 1); at least one.
    concepts : ConceptBank or ConceptsWithNetwork
        The trained directions q (:func:`l2vkit.concepts.train_concepts` or a saved bank), or a bank that falls back
        on a concept network for the pairs it lacks (:class:`~l2vkit.concepts.resolve.ConceptsWithNetwork`).
    seed : int
        Seed of the CPU generator that draws the initial noise (the same noise for every φ).
    others : mapping of str to float, optional
        ``{pair name: φ}`` for other pairs, held at these strengths in every setting.
    **kwargs
        Passed on as in :func:`steer`: ``steps``, ``guidance``, ``window``, ``frame_mask``, ``frame_indices``, ``vlm``,
        ``coupling``,
        ``callback_on_step_end``, ``callback_on_step_end_tensor_inputs``.

    Returns
    -------
    SteeringResult
        One setting per φ, in the order of ``phis``: ``videos``, final ``latents``, ``probs`` when read, and
        provenance; ``result.phis`` lists the swept φ. A sweep spans φ on purpose, so instead of warning it marks
        the settings outside a pair's measured strength range: ``result.outside_range`` (and ⚠ in its plots).

    Raises
    ------
    ValueError
        When ``phis`` is empty or no pair is given.

    Examples
    --------
    ::

        bank = l2vkit.toyworld.load_concepts()
        result = sweep(generator, "a small red circle moves slowly up in the sea", "red->blue", concepts=bank)
        result.phis           # [0.0, 0.25, 0.5, 0.75, 1.0]
        result.videos.shape   # (5, 9, 32, 32, 3)
    """
    if not len(phis):
        raise ValueError("phis is empty; give at least one φ")
    names = [pair] if isinstance(pair, str) else list(pair)
    if not names:
        raise ValueError("no pair to sweep")
    settings = [{**{n: float(phi) for n in names}, **(others or {})} for phi in phis]
    return _run(generator, caption, settings, concepts=concepts, seed=seed, warn_range=False, **kwargs)


def _run(generator, caption, settings, *, concepts, seed, steps=None, guidance=None, window=None, frame_mask=None,
         frame_indices=None, vlm=None, coupling=None, callback_on_step_end=None,
         callback_on_step_end_tensor_inputs=None, warn_range: bool = True) -> SteeringResult:
    import torch

    from .concepts import slot_prefix
    from .concepts.placement import generator_tokenizer
    from .provenance import generator_identity
    from .provenance import provenance

    if not isinstance(caption, str) or not caption.strip():
        raise ValueError("caption must be a non-empty string")
    concepts.check_generator(generator)
    settings = [_check_strengths(s, concepts) for s in settings]
    steps = generator.check_steps(steps)
    seed = generator.check_seed(seed)
    window = _check_window(window, steps)
    frames = generator.frames
    if coupling is not None:
        coupling.check_models(vlm=vlm, generator=generator)
    held = {n: held_word(concepts.spec(n), caption) for s in settings for n in s}  # source or target word
    base = generator.encode_prompt(caption)  # once: every setting steers the same π⁻
    tokenizer = generator_tokenizer(generator)
    steered_condition(base, dict.fromkeys(held, 1.0), concepts, captions=[caption],
                      tokenizer=tokenizer)  # placing the rows fails here, before anything is sampled
    latent_mask, steered_frames = (None, None) if frame_mask is None and frame_indices is None else \
        _latent_frame_mask(generator, frame_mask, frames, frame_indices)
    back = {n for n, word in held.items() if word != concepts.spec(n).source}
    marks = warn_outside_ranges(settings, concepts, warn=warn_range, back=back)  # once every input is known to be good
    reference = None
    if latent_mask is not None:
        unsteered = generator.sample(base, steps=steps, guidance=guidance, seed=seed, return_trajectory=True,
                                     output="frames")
        reference = unsteered.trajectory
    first_pair = next(iter(settings[0]), None)
    read_spec = concepts.spec(first_pair) if vlm is not None and coupling is not None and first_pair else None
    if read_spec is not None and held[first_pair] != read_spec.source:  # steering back: read at the target word
        read_spec = dataclasses.replace(read_spec, source=read_spec.target, target=read_spec.source, name="")
    hook = None
    if latent_mask is not None:
        keep = torch.as_tensor(~latent_mask)

        def hook(i, z):  # unmasked latent frames follow the unsteered trajectory
            z = z.clone()
            z[:, :, keep] = reference[i + 1][:, :, keep].to(z.device, z.dtype)
            return z
    videos, latents, probs, pixel_probs = [], [], [], []
    for strengths in settings:
        steered = steered_condition(base, strengths, concepts, captions=[caption], tokenizer=tokenizer)
        schedule = None
        if window is not None:
            active = set(steps_in_window(window, steps))
            schedule = lambda i, t, s=steered, b=base: s if i in active else b  # noqa: E731
        run = generator.sample(base if schedule is not None else steered, steps=steps, guidance=guidance, seed=seed,
                               condition_schedule=schedule, latents_hook=hook, output="frames",
                               callback_on_step_end=callback_on_step_end,
                               callback_on_step_end_tensor_inputs=callback_on_step_end_tensor_inputs)
        video = run.frames
        if steered_frames is not None:
            # The VAE decodes causally, so a steered latent frame also tints the frames decoded after it: frames
            # outside the mask take the unsteered video's own pixels.
            video = np.where(steered_frames[:, None, None, None], video, unsteered.frames)
        videos.append(video)
        latents.append(run.latents.cpu())
        if read_spec is not None:
            with torch.no_grad():
                read = coupling.token_probs(vlm, run.latents, base, slot_prefix(read_spec, caption),
                                            [read_spec.source, read_spec.target])
            probs.append({w: float(p) for w, p in zip(read.words, read.candidates[0].tolist())})
            with torch.no_grad():  # closed loop: the VLM on the video's own pixels
                read = vlm.token_probs(vlm.visual_tokens(video[None]), slot_prefix(read_spec, caption),
                                       [read_spec.source, read_spec.target])
            pixel_probs.append({w: float(p) for w, p in zip(read.words, read.candidates[0].tolist())})
    words = None if read_spec is None else (read_spec.source, read_spec.target)
    return SteeringResult(caption=caption, settings=settings, videos=np.stack(videos), latents=torch.cat(latents),
                          probs=probs or None, pixel_probs=pixel_probs or None, words=words, seed=int(seed),
                          steps=steps, window=window,
                          frame_mask=None if latent_mask is None else latent_mask.tolist(),
                          steered_frames=None if steered_frames is None else steered_frames.tolist(),
                          outside_range=marks,
                          provenance=provenance(generator=generator_identity(generator), seed=int(seed), steps=steps,
                                                guidance=generator.guidance if guidance is None else guidance,
                                                concepts=concepts.meta.get("created"),
                                                **({"network": concepts.meta["network"]}
                                                   if "network" in concepts.meta else {})))
