"""The logit editor's pure layer: :func:`render` turns an :class:`~l2vkit.widgets.state.EditorState` into a
:class:`RenderOutput` (the steered and unsteered videos, the VLM's probabilities read through Φ and from the pixels,
figures and an HTML summary). Same state → same output; it is what the tests drive."""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable

import numpy as np

from .state import FULL_WINDOW, EditorState, editable_pairs, slot_spec, steers_back
from .summary import strength_label, summary_html


class RenderStopped(RuntimeError):
    """A render was stopped (the editor's *stop* button, or a newer edit) before it finished."""


@dataclasses.dataclass
class RenderOutput:
    """What :func:`render` returns.

    ``video``: the edited video, uint8 (T, H, W, 3); ``reference``: the unsteered video of the same caption and seed;
    ``figures``: ``{"probabilities via Φ": fig, "probabilities from pixels": fig, "frames": fig}`` (matplotlib);
    ``html``: a summary table; ``probs``: ``{pair: {"unsteered": {word: p}, "edited": {word: p}}}`` — the VLM's
    probabilities of each editable pair's source and target word at its slot, read through Φ from the final latents
    (with the unsteered caption's condition, as :func:`l2vkit.steer` does); ``pixel_probs``: the same read by the VLM
    from the decoded videos' own tokens E_Ω(D_Ξ(z)) — the check that Φ's reading matches the VLM's; ``vlm_caption`` /
    ``reference_caption``: the VLM's greedy captions of the two videos; ``measured``: the toy world's measurement
    (when a ``measure`` function was given); ``active``: the strengths actually applied; ``ignored``: pairs of
    the state that the caption cannot edit; ``outside``: ``{pair: reason}`` for each φ outside its pair's strength
    range (:func:`l2vkit.steering.outside_range`), shown in the summary instead of a warning.
    """

    state: EditorState
    video: np.ndarray
    reference: np.ndarray
    figures: dict
    html: str
    probs: dict
    pixel_probs: dict
    vlm_caption: str
    reference_caption: str
    editable: list
    active: dict
    ignored: list
    measured: object = None
    seconds: float = 0.0
    outside: dict = dataclasses.field(default_factory=dict)

    def target_probability(self, pair: str, *, video: str = "edited", read: str = "phi") -> float:
        """P(target word) of ``pair``, renormalised over the pair's two words, for the ``"edited"`` or
        ``"unsteered"`` video, read through Φ (``read="phi"``) or from the pixels (``read="pixels"``)."""
        if read not in ("phi", "pixels"):
            raise ValueError(f"read={read!r}; choose 'phi' or 'pixels'")
        p = (self.probs if read == "phi" else self.pixel_probs)[pair][video]
        source, target = list(p)
        return p[target] / max(p[source] + p[target], 1e-12)

    def show(self) -> None:
        """Display the videos, the figures and the summary in a notebook."""
        from IPython.display import HTML, display

        from ..video import show_videos

        show_videos({"unsteered (φ = 0)": self.reference, "edited": self.video})
        for fig in self.figures.values():
            display(fig)
        display(HTML(self.html))


class _StoppableGenerator:
    """A view of a generator whose sampling raises :class:`RenderStopped` at the next step once ``stop`` is set.

    It wraps ``latents_hook`` (called by the pipeline's step-end callback) and changes nothing else: with ``stop``
    unset the samples are bitwise those of the wrapped generator.
    """

    def __init__(self, generator, stop: threading.Event):
        self._generator = generator
        self._stop = stop

    def __getattr__(self, name):
        return getattr(self._generator, name)

    def sample(self, condition, *, latents_hook=None, **kwargs):
        if self._stop.is_set():
            raise RenderStopped("stopped")

        def hook(i, z):
            if self._stop.is_set():
                raise RenderStopped("stopped")
            return latents_hook(i, z) if latents_hook is not None else None

        return self._generator.sample(condition, latents_hook=hook, **kwargs)


#: How many unsteered renders (and captions) a render cache keeps; older entries are dropped first.
CACHE_ENTRIES = 16


def _remember(cache, key, compute):
    """``cache[key]``, computed by ``compute()`` when missing; the cache keeps the newest ``CACHE_ENTRIES``."""
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
        while len(cache) > CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
    return cache[key]


def _reference(generator, caption: str, seed: int, steps, cache):
    """The unsteered sample (frames, latents) for ``caption``/``seed``/``steps``, memoised in ``cache``."""
    def compute():
        run = generator.sample(generator.encode_prompt(caption), seed=int(seed), steps=steps, output="frames")
        return run.frames, run.latents.cpu()

    return _remember(cache, ("reference", caption, int(seed), steps), compute)


def _pair_probabilities(vlm, coupling, latents, condition, caption: str, pairs, concepts) -> list[dict]:
    """For each latent (B of them): {pair: {source: p, target: p}} read through Φ at the pair's slot."""
    import torch

    from ..concepts import slot_prefix

    out = [dict() for _ in range(latents.shape[0])]
    cond = condition.repeat(latents.shape[0]) if condition.batch_size == 1 else condition
    with torch.no_grad():
        tokens = coupling.read(latents, cond)
        for name in pairs:
            spec = concepts.spec(name)
            read = vlm.token_probs(tokens.to(vlm.device, vlm.dtype), slot_prefix(slot_spec(spec, caption), caption),
                                   [spec.source, spec.target], inputs=coupling.reader_inputs(vlm, tokens))
            for b in range(latents.shape[0]):
                out[b][name] = {w: float(p) for w, p in zip(read.words, read.candidates[b].tolist())}
    return out


def _pixel_probabilities(vlm, videos, caption: str, pairs, concepts) -> list[dict]:
    """For each video: {pair: {source: p, target: p}} read by the VLM from the video's own tokens."""
    import torch

    from ..concepts import slot_prefix

    out = [dict() for _ in range(len(videos))]
    with torch.no_grad():
        tokens = vlm.visual_tokens(np.stack(videos))
        for name in pairs:
            spec = concepts.spec(name)
            read = vlm.token_probs(tokens, slot_prefix(slot_spec(spec, caption), caption), [spec.source, spec.target])
            for b in range(len(videos)):
                out[b][name] = {w: float(p) for w, p in zip(read.words, read.candidates[b].tolist())}
    return out


def render(state: EditorState, *, generator, vlm, coupling, concepts, measure: Callable | None = None,
           cache: dict | None = None, stop: threading.Event | None = None) -> RenderOutput:
    """Render one editor state: the steered video, the VLM's reading of it, figures and an HTML summary.

    A pair whose target word the caption holds (and not its source word) steers back towards the source word with
    φ < 0. Strengths of pairs the caption cannot edit (it holds neither word once) are ignored and listed in
    ``ignored``; φ = 0 pairs are not applied (the video is then bitwise the unsteered one). ``window`` other than
    ``(0, 1)`` injects the concepts only in those sampling steps (see :func:`l2vkit.steer`). ``measure``: an optional
    ``video -> attributes`` function (the toy world's :func:`~l2vkit.toyworld.measure`) whose result is shown.
    ``cache``: a dict reused across calls to keep the unsteered video of a caption and seed (a speed-up only;
    outputs are the same). ``stop``: an event that, once set, aborts sampling with :class:`RenderStopped`.

    Raises ``ValueError`` for an empty caption or a window with no sampling step, ``KeyError`` for a pair the bank
    does not have.
    """
    from ..plots import logit_bars
    from ..steering import outside_range, steer
    from ..video import contact_sheet

    started = time.perf_counter()
    caption = " ".join(str(state.caption).split())
    if not caption:
        raise ValueError("the caption is empty; type a caption with words the concept bank can edit")
    for name in state.strengths:
        concepts.spec(name)  # KeyError naming the bank's pairs (or why a concept network cannot give it)
    concepts.check_generator(generator)
    coupling.check_models(vlm=vlm, generator=generator)
    if stop is not None:
        generator = _StoppableGenerator(generator, stop)
    editable = editable_pairs(caption, concepts, extra=state.strengths)
    ignored = [name for name in state.strengths if name not in editable]
    active = {name: phi for name, phi in state.strengths.items() if name in editable and phi != 0.0}
    window = None if state.window == FULL_WINDOW else state.window
    steps = state.steps
    ref_frames, ref_latents = _reference(generator, caption, state.seed, steps, cache)
    outside = {name: reason for name, phi in active.items()
               if (reason := outside_range(name, phi, concepts, back=steers_back(concepts.spec(name), caption)))}
    if active:  # a φ outside its strength range shows in the summary (outside), beside the video it concerns
        result = steer(generator, caption, active, concepts=concepts, seed=int(state.seed), steps=steps,
                       window=window, warn_range=False)
        video, latents = result.video, result.latents[-1:].cpu()
    else:
        video, latents = ref_frames, ref_latents
    base = generator.encode_prompt(caption)
    ref_probs, edit_probs = _pair_probabilities(vlm, coupling, _cat_latents(ref_latents, latents), base, caption,
                                                editable, concepts)
    probs = {name: {"unsteered": ref_probs[name], "edited": edit_probs[name]} for name in editable}
    ref_pixels, edit_pixels = _pixel_probabilities(vlm, [ref_frames, video], caption, editable, concepts)
    pixel_probs = {name: {"unsteered": ref_pixels[name], "edited": edit_pixels[name]} for name in editable}
    reference_caption = _remember(cache, ("caption", caption, int(state.seed), steps),
                                  lambda: vlm.caption(ref_frames))
    vlm_caption = reference_caption if not active else vlm.caption(video)
    measured = None
    if measure is not None:
        try:
            measured = measure(video)
        except ValueError as err:  # the toy world's measure: no object found
            measured = f"not measurable ({err})"

    figures = {}
    if editable:
        words = [[concepts.spec(n).source, concepts.spec(n).target] for n in editable]
        for label, table in (("via Φ", probs), ("from pixels", pixel_probs)):
            before = np.array([[table[n]["unsteered"][w] for w in ws] for n, ws in zip(editable, words)])
            after = np.array([[table[n]["edited"][w] for w in ws] for n, ws in zip(editable, words)])
            fig, _ = logit_bars(["source word (π⁻)", "target word (π⁺)"], before, after,
                                steps=[f"{a}\n→ {b}" for a, b in words], step_label=f"contrast pair (read {label})",
                                paths=("unsteered (φ = 0)", "edited"),
                                title=f"{strength_label(active, window)} — VLM read {label}")
            figures[f"probabilities {label}"] = fig
    frames = sorted({0, video.shape[0] // 2, video.shape[0] - 1})
    fig, _ = contact_sheet({"unsteered": ref_frames, "edited": video}, frames=frames, scale=3)
    figures["frames"] = fig
    html = summary_html(caption, active, ignored, window, state, probs, pixel_probs, concepts, reference_caption,
                        vlm_caption, measured, outside)
    return RenderOutput(state=state, video=video, reference=ref_frames, figures=figures, html=html, probs=probs,
                        pixel_probs=pixel_probs, vlm_caption=vlm_caption, reference_caption=reference_caption,
                        editable=editable, active=active, ignored=ignored, measured=measured, outside=outside,
                        seconds=round(time.perf_counter() - started, 3))


def _cat_latents(a, b):
    """Two latent batches joined along the batch (torch)."""
    import torch

    return torch.cat([a.float().cpu(), b.float().cpu()])
