"""The interactive logit editor: move a caption word's logit with a slider and watch the video follow.

Two layers, so that what the editor shows is testable without a browser:

- :func:`render` — a **pure** function ``EditorState -> RenderOutput``: it samples the caption steered by
  π⁻ + Σ_k φ_k q_k (optionally only in a window of sampling steps), reads the result back through the coupling Φ to
  get the VLM's probabilities of every editable pair's words (next to the unsteered video's), captions the video with
  the VLM and returns the video, matplotlib figures and an HTML summary. Same state → same output; it is what the
  tests drive.
- :class:`LogitEditor` — a thin ipywidgets layer (core widgets only, so it works on Colab and in JupyterLab): a
  caption box, one slider per editable pair (φ in −2…2), a range slider for the timestep window, seed and steps,
  *generate* and *stop* buttons, and an ``Output`` that is cleared and redrawn with each result. Slider moves are
  collapsed by a :class:`Debouncer`, so dragging a slider renders once when it comes to rest.

>>> state = EditorState("a small red circle moves slowly up in the desert", {"red->blue": 1.0})
>>> state.edit(window=(0.0, 0.5)).window
(0.0, 0.5)
>>> state.with_strength("red->blue", 0.25).strengths
{'red->blue': 0.25}
"""
from __future__ import annotations

import dataclasses
import html as _html
import threading
import time
from typing import Callable, Mapping

import numpy as np

__all__ = ["Debouncer", "EditorState", "LogitEditor", "RenderOutput", "RenderStopped", "editable_pairs",
           "logit_editor", "render"]

#: Slider range for φ (the steering module warns outside ±2, where concepts were not trained to act).
PHI_RANGE = (-2.0, 2.0)
PHI_STEP = 0.05
FULL_WINDOW = (0.0, 1.0)


# ------------------------------------------------------------------------------------------------------ state
@dataclasses.dataclass(frozen=True)
class EditorState:
    """Everything that determines what the editor shows.

    ``caption``: π⁻, the caption to edit; ``strengths``: ``{pair name: φ}``; ``window``: ``(start, end)`` fractions
    of the sampling steps in which the concepts are injected (``(0, 1)`` = every step); ``seed`` of the noise;
    ``steps``: sampling steps (``None`` = the generator's default).
    """

    caption: str
    strengths: Mapping[str, float] = dataclasses.field(default_factory=dict)
    window: tuple = FULL_WINDOW
    seed: int = 0
    steps: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "strengths", {str(k): float(v) for k, v in dict(self.strengths).items()})
        object.__setattr__(self, "window", tuple(float(x) for x in self.window))
        if len(self.window) != 2:
            raise ValueError(f"window={self.window!r}; expected (start, end)")

    def edit(self, **changes) -> "EditorState":
        """A copy with some fields changed (the state itself never changes)."""
        return dataclasses.replace(self, **changes)

    def with_strength(self, pair: str, phi: float) -> "EditorState":
        """A copy with ``pair``'s φ set."""
        return self.edit(strengths={**self.strengths, pair: float(phi)})

    def key(self) -> tuple:
        """A hashable summary (for caching and for telling whether two states differ)."""
        return (self.caption, tuple(sorted(self.strengths.items())), self.window, int(self.seed), self.steps)


def editable_pairs(caption: str, concepts) -> list[str]:
    """The bank's pairs whose source word occurs exactly once in ``caption`` (the words a slider can move)."""
    words = str(caption).split()
    return [name for name in concepts.pairs if words.count(concepts.spec(name).source) == 1]


# ----------------------------------------------------------------------------------------------------- render
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
    the state that the caption cannot edit.
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

        from .video import show_videos

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

    from .concepts import slot_prefix

    out = [dict() for _ in range(latents.shape[0])]
    cond = condition.repeat(latents.shape[0]) if condition.batch_size == 1 else condition
    with torch.no_grad():
        tokens = coupling.read(latents, cond)
        for name in pairs:
            spec = concepts.spec(name)
            read = vlm.token_probs(tokens.to(vlm.device, vlm.dtype), slot_prefix(spec, caption),
                                   [spec.source, spec.target])
            for b in range(latents.shape[0]):
                out[b][name] = {w: float(p) for w, p in zip(read.words, read.candidates[b].tolist())}
    return out


def _pixel_probabilities(vlm, videos, caption: str, pairs, concepts) -> list[dict]:
    """For each video: {pair: {source: p, target: p}} read by the VLM from the video's own tokens."""
    import torch

    from .concepts import slot_prefix

    out = [dict() for _ in range(len(videos))]
    with torch.no_grad():
        tokens = vlm.visual_tokens(np.stack(videos))
        for name in pairs:
            spec = concepts.spec(name)
            read = vlm.token_probs(tokens, slot_prefix(spec, caption), [spec.source, spec.target])
            for b in range(len(videos)):
                out[b][name] = {w: float(p) for w, p in zip(read.words, read.candidates[b].tolist())}
    return out


def render(state: EditorState, *, generator, vlm, coupling, concepts, measure: Callable | None = None,
           cache: dict | None = None, stop: threading.Event | None = None) -> RenderOutput:
    """Render one editor state: the steered video, the VLM's reading of it, figures and an HTML summary.

    Strengths of pairs the caption cannot edit (their source word is absent) are ignored and listed in
    ``ignored``; φ = 0 pairs are not applied (the video is then bitwise the unsteered one). ``window`` other than
    ``(0, 1)`` injects the concepts only in those sampling steps (see :func:`l2vkit.steer`). ``measure``: an optional
    ``video -> attributes`` function (the toy world's :func:`~l2vkit.toyworld.measure`) whose result is shown.
    ``cache``: a dict reused across calls to keep the unsteered video of a caption and seed (a speed-up only;
    outputs are the same). ``stop``: an event that, once set, aborts sampling with :class:`RenderStopped`.

    Raises ``ValueError`` for an empty caption or a window with no sampling step, ``KeyError`` for a pair the bank
    does not have.
    """
    from .plots import logit_bars
    from .steering import steer
    from .video import contact_sheet

    started = time.perf_counter()
    caption = " ".join(str(state.caption).split())
    if not caption:
        raise ValueError("the caption is empty; type a caption with words the concept bank can edit")
    for name in state.strengths:
        concepts[name]  # KeyError naming the bank's pairs
    concepts.check_generator(generator)
    coupling.check_models(vlm=vlm, generator=generator)
    if stop is not None:
        generator = _StoppableGenerator(generator, stop)
    editable = editable_pairs(caption, concepts)
    ignored = [name for name in state.strengths if name not in editable]
    active = {name: phi for name, phi in state.strengths.items() if name in editable and phi != 0.0}
    window = None if state.window == FULL_WINDOW else state.window
    steps = state.steps
    ref_frames, ref_latents = _reference(generator, caption, state.seed, steps, cache)
    if active:
        result = steer(generator, caption, active, concepts=concepts, seed=int(state.seed), steps=steps,
                       window=window)
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
                                title=f"{_strength_label(active, window)} — VLM read {label}")
            figures[f"probabilities {label}"] = fig
    frames = sorted({0, video.shape[0] // 2, video.shape[0] - 1})
    fig, _ = contact_sheet({"unsteered": ref_frames, "edited": video}, frames=frames, scale=3)
    figures["frames"] = fig
    html = _summary_html(caption, active, ignored, window, state, probs, pixel_probs, concepts, reference_caption,
                         vlm_caption, measured)
    return RenderOutput(state=state, video=video, reference=ref_frames, figures=figures, html=html, probs=probs,
                        pixel_probs=pixel_probs, vlm_caption=vlm_caption, reference_caption=reference_caption,
                        editable=editable, active=active, ignored=ignored, measured=measured,
                        seconds=round(time.perf_counter() - started, 3))


def _cat_latents(a, b):
    """Two latent batches joined along the batch (torch)."""
    import torch

    return torch.cat([a.float().cpu(), b.float().cpu()])


def _strength_label(active: Mapping[str, float], window) -> str:
    text = ", ".join(f"{k} φ={v:g}" for k, v in active.items()) or "no edit (every φ = 0)"
    if window is not None and active:
        text += f" in steps {window[0]:g}–{window[1]:g}"
    return text


def _summary_html(caption, active, ignored, window, state, probs, pixel_probs, concepts, reference_caption,
                  vlm_caption, measured) -> str:
    e = _html.escape
    rows = [("caption π⁻", e(caption)),
            ("edit", e(_strength_label(active, window))),
            ("seed / steps", f"{int(state.seed)} / {state.steps if state.steps is not None else 'default'}"),
            ("VLM caption, unsteered", e(reference_caption)),
            ("VLM caption, edited", f"<b>{e(vlm_caption)}</b>")]
    if measured is not None:
        rows.append(("measured (toy ground truth)", e(_measured_text(measured))))
    if ignored:
        rows.append(("ignored", e(", ".join(ignored)) + " — the caption has no such source word"))
    table = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    head = ("<tr><th style='text-align:left'>pair</th><th>read</th><th>P(source) unsteered → edited</th>"
            "<th>P(target) unsteered → edited</th></tr>")
    lines = []
    for name in probs:
        spec = concepts.spec(name)
        mark = " style='font-weight:bold'" if name in active else ""
        for label, p in (("via Φ", probs[name]), ("pixels", pixel_probs[name])):
            cells = "".join(f"<td>{e(w)}: {p['unsteered'][w]:.3f} → {p['edited'][w]:.3f}</td>"
                            for w in (spec.source, spec.target))
            lines.append(f"<tr{mark}><td>{e(name) if label == 'via Φ' else ''}</td><td>{label}</td>{cells}</tr>")
    probs_table = (f"<table class='l2v-probs'>{head}{''.join(lines)}</table>" if lines else
                   "<p>No pair of the concept bank can edit this caption.</p>")
    return (f"<div class='l2v-editor'><table class='l2v-summary'>{table}</table>"
            f"<p style='margin:0.5em 0 0.2em'>The VLM's probabilities of each pair's words at its slot, read through "
            f"Φ from the final latent and from the decoded video's pixels:</p>{probs_table}</div>")


def _measured_text(measured) -> str:
    if hasattr(measured, "as_dict"):
        return ", ".join(f"{k}={v}" for k, v in measured.as_dict().items())
    return str(measured)


# --------------------------------------------------------------------------------------------------- debounce
class Debouncer:
    """Collapse rapid calls into one: each call (re)starts a timer; ``fn`` runs once, with the latest arguments,
    ``delay`` seconds after the last call. ``delay=None`` never fires by itself — call :meth:`flush` (tests, CI).

    >>> seen = []
    >>> d = Debouncer(seen.append, delay=None)
    >>> for phi in (0.1, 0.2, 0.3):
    ...     d(phi)
    >>> d.flush(); seen
    [0.3]
    """

    def __init__(self, fn: Callable, delay: float | None = 0.35, *, timer_factory=threading.Timer):
        self.fn = fn
        self.delay = delay
        self._timer_factory = timer_factory
        self._lock = threading.Lock()
        self._timer = None
        self._pending = None  # (args, kwargs) of the latest call not yet run
        self.calls = 0  # how many times fn actually ran

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def __call__(self, *args, **kwargs) -> None:
        with self._lock:
            self._pending = (args, kwargs)
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self.delay is not None:
                self._timer = self._timer_factory(self.delay, self._fire)
                self._timer.daemon = True
                self._timer.start()

    def _take(self):
        with self._lock:
            pending, self._pending = self._pending, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            return pending

    def _fire(self):
        pending = self._take()
        if pending is not None:
            self.calls += 1
            self.fn(*pending[0], **pending[1])

    def flush(self) -> None:
        """Run the pending call now (in this thread), if there is one."""
        self._fire()

    def cancel(self) -> None:
        """Drop the pending call."""
        self._take()


# ---------------------------------------------------------------------------------------------- widget layer
EXAMPLE_CAPTIONS = (
    "a small red circle moves slowly up in the desert",
    "a large green square moves quickly left in the grass",
    "a small blue triangle moves slowly right in the desert",
    "a large red circle moves quickly down in the grass",
)


def _display_bundle(data: dict) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": {}}


def _figure_bundle(fig) -> dict:
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return _display_bundle({"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                            "text/plain": "<figure>"})


def _videos_html(videos: Mapping[str, np.ndarray]) -> str:
    try:
        from .video import show_videos

        return show_videos(videos, return_html=True) or ""
    except Exception as err:  # no ffmpeg or mediapy: the frames figure still shows the result
        return f"<p><i>videos not shown ({_html.escape(str(err))}); see the frames below</i></p>"


class LogitEditor:
    """The logit editor as ipywidgets (display it as the last expression of a cell, or ``display(editor)``).

    A caption box (type or pick an example), one φ slider per pair the caption can edit, a range slider for the
    timestep window, seed and steps, *generate* (render now) and *stop* (cancel the pending or running render), a
    *live* toggle (render when a control comes to rest, debounced by ``delay`` seconds), and an ``Output`` that is
    cleared and redrawn with the videos, the probability bars, the frames and the summary.

    ``delay=None`` disables the timer: edits then wait for *generate* (or :meth:`render_now`) — useful in tests.
    """

    def __init__(self, generator, vlm, coupling, concepts, *, caption: str = EXAMPLE_CAPTIONS[0],
                 captions=EXAMPLE_CAPTIONS, strengths: Mapping[str, float] | None = None, seed: int = 0,
                 steps: int | None = None, delay: float | None = 0.35, measure: Callable | None = None):
        import ipywidgets as w

        self.generator, self.vlm, self.coupling, self.concepts = generator, vlm, coupling, concepts
        self.measure = measure
        self.cache: dict = {}
        self.last: RenderOutput | None = None
        self.error: str | None = None
        self.renders = 0
        self._stop = threading.Event()
        self._render_lock = threading.Lock()
        self._building = False
        self.debouncer = Debouncer(self._render_state, delay=delay)

        self.caption = w.Combobox(value=caption, options=list(captions), ensure_option=False,
                                  description="caption π⁻", placeholder="a caption with editable words",
                                  layout=w.Layout(width="640px"), style={"description_width": "90px"})
        self.sliders: dict = {}
        self.slider_box = w.VBox()
        self.window = w.FloatRangeSlider(value=FULL_WINDOW, min=0.0, max=1.0, step=0.05, description="window",
                                         readout_format=".2f", style={"description_width": "90px"},
                                         layout=w.Layout(width="420px"))
        self.seed = w.IntText(value=int(seed), description="seed", layout=w.Layout(width="160px"))
        self.steps = w.BoundedIntText(value=int(steps or generator.steps), min=2, max=200, description="steps",
                                      layout=w.Layout(width="160px"))
        self.live = w.Checkbox(value=delay is not None, description="live", indent=False,
                               layout=w.Layout(width="70px"))
        self.generate_button = w.Button(description="generate", button_style="primary", icon="play")
        self.stop_button = w.Button(description="stop", button_style="warning", icon="stop")
        self.status = w.HTML()
        self.output = w.Output(layout=w.Layout(border="1px solid #ddd", padding="4px"))
        self.widget = w.VBox([
            self.caption, self.slider_box, self.window,
            w.HBox([self.seed, self.steps, self.live, self.generate_button, self.stop_button]),
            self.status, self.output])

        self._build_sliders(dict(strengths or {}))
        self.caption.observe(self._on_caption, names="value")
        for control in (self.window, self.seed, self.steps):
            control.observe(self._on_change, names="value")
        self.generate_button.on_click(lambda _: self.render_now())
        self.stop_button.on_click(lambda _: self.stop())
        self._set_status("edit a slider or press <b>generate</b>")

    # ---------------------------------------------------------------------------------------------- state
    @property
    def state(self) -> EditorState:
        """The current controls as an :class:`EditorState`."""
        return EditorState(caption=self.caption.value,
                           strengths={name: s.value for name, s in self.sliders.items()},
                           window=tuple(self.window.value), seed=int(self.seed.value),
                           steps=int(self.steps.value))

    def set_strength(self, pair: str, phi: float) -> None:
        """Move ``pair``'s slider (as a user would)."""
        if pair not in self.sliders:
            raise KeyError(f"{pair!r} cannot edit this caption; editable: {', '.join(self.sliders) or 'none'}")
        self.sliders[pair].value = float(phi)

    def _build_sliders(self, values: Mapping[str, float]) -> None:
        import ipywidgets as w

        self._building = True
        try:
            names = editable_pairs(self.caption.value, self.concepts)
            old = {name: s.value for name, s in self.sliders.items()}
            self.sliders = {}
            for name in names:
                slider = w.FloatSlider(value=float(values.get(name, old.get(name, 0.0))), min=PHI_RANGE[0],
                                       max=PHI_RANGE[1], step=PHI_STEP, description=f"φ {name}",
                                       continuous_update=True, readout_format=".2f",
                                       style={"description_width": "130px"}, layout=w.Layout(width="520px"))
                slider.observe(self._on_change, names="value")
                self.sliders[name] = slider
            self.slider_box.children = tuple(self.sliders.values()) or (
                w.HTML("<i>no pair of the concept bank can edit this caption — its source words: "
                       + _html.escape(", ".join(self.concepts.spec(n).source for n in self.concepts.pairs))
                       + "</i>"),)
        finally:
            self._building = False

    # -------------------------------------------------------------------------------------------- events
    def _on_caption(self, change) -> None:
        self._build_sliders({})
        self._on_change(change)

    def _on_change(self, _change=None) -> None:
        if self._building:
            return
        if self.live.value:
            self._set_status("…")
            self.debouncer(self.state)

    def render_now(self) -> RenderOutput | None:
        """Render the current state now, in this thread (the *generate* button)."""
        self.debouncer.cancel()
        return self._render_state(self.state)

    def stop(self) -> None:
        """Drop the pending render and stop the running one at its next sampling step."""
        self.debouncer.cancel()
        self._stop.set()
        self._set_status("stopped")

    # ------------------------------------------------------------------------------------------- drawing
    def _render_state(self, state: EditorState) -> RenderOutput | None:
        self._stop.set()  # a render still running is stale now
        with self._render_lock:
            self._stop.clear()
            self._set_status(f"rendering {_html.escape(_strength_label(state.strengths, None))} …")
            try:
                out = render(state, generator=self.generator, vlm=self.vlm, coupling=self.coupling,
                             concepts=self.concepts, measure=self.measure, cache=self.cache, stop=self._stop)
            except RenderStopped:
                self._set_status("stopped")
                return None
            except (ValueError, KeyError) as err:
                self.error = str(err)
                self._set_status(f"<span style='color:#b00'>{_html.escape(str(err))}</span>")
                return None
            self.error = None
            self.last = out
            self.renders += 1
            self._draw(out)
            self._set_status(f"rendered in {out.seconds:.2f} s")
            return out

    def _draw(self, out: RenderOutput) -> None:
        """Clear the Output and redraw it in one assignment (safe from the debouncer's thread)."""
        bundles = [_display_bundle({"text/html": _videos_html({"unsteered (φ = 0)": out.reference,
                                                               "edited": out.video}),
                                    "text/plain": "<videos>"}),
                   _display_bundle({"text/html": out.html, "text/plain": out.vlm_caption})]
        bundles += [_figure_bundle(fig) for fig in out.figures.values()]
        self.output.outputs = tuple(bundles)

    def _set_status(self, text: str) -> None:
        self.status.value = f"<span style='font-size:90%'>{text}</span>"

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def logit_editor(generator, vlm, coupling, concepts, **kwargs) -> LogitEditor:
    """Build a :class:`LogitEditor` (display it by making it the last expression of a cell)."""
    return LogitEditor(generator, vlm, coupling, concepts, **kwargs)
