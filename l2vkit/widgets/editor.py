"""The logit editor as ipywidgets (core widgets only, so it works on Colab and in JupyterLab); ipywidgets is
imported only when an editor is built."""
from __future__ import annotations

import html as _html
import threading
from typing import Callable, Mapping

import numpy as np

from .debounce import Debouncer
from .rendering import RenderOutput, RenderStopped, render
from .state import FULL_WINDOW, PHI_RANGE, PHI_STEP, EditorState, editable_pairs, origin, slot_spec
from .summary import strength_label

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
        from ..video import show_videos

        return show_videos(videos, return_html=True) or ""
    except Exception as err:  # no ffmpeg or mediapy: the frames figure still shows the result
        return f"<p><i>videos not shown ({_html.escape(str(err))}); see the frames below</i></p>"


class LogitEditor:
    """The logit editor as ipywidgets (display it as the last expression of a cell, or ``display(editor)``).

    A caption box (type or pick an example), one φ slider per pair the caption can edit, a range slider for the
    timestep window, with a concept network (:class:`~l2vkit.concepts.resolve.ConceptsWithNetwork`) a *source* and
    *target* word box whose *add* button gives a slider for any word swap (labelled ``network`` when no trained vector
    exists), seed and steps, *generate* (render now) and *stop* (cancel the pending or running render), a
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
        self.extra: list = []  # pairs the user added by their words (given by the concept network)
        self.slider_box = w.VBox()
        self.source_word = w.Text(description="swap", placeholder="source word", layout=w.Layout(width="220px"),
                                  style={"description_width": "90px"})
        self.target_word = w.Text(description="→", placeholder="target word", layout=w.Layout(width="160px"),
                                  style={"description_width": "20px"})
        self.add_button = w.Button(description="add", icon="plus", layout=w.Layout(width="80px"))
        self.add_box = w.HBox([self.source_word, self.target_word, self.add_button],
                              layout=w.Layout(display=None if hasattr(concepts, "origin") else "none"))
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
            self.caption, self.slider_box, self.add_box, self.window,
            w.HBox([self.seed, self.steps, self.live, self.generate_button, self.stop_button]),
            self.status, self.output])

        self._build_sliders(dict(strengths or {}))
        self.caption.observe(self._on_caption, names="value")
        for control in (self.window, self.seed, self.steps):
            control.observe(self._on_change, names="value")
        self.generate_button.on_click(lambda _: self.render_now())
        self.add_button.on_click(lambda _: self._add_from_boxes())
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

    def add_pair(self, source: str, target: str) -> str:
        """Give a slider to the swap ``source`` → ``target`` (the *add* button): the bank's vector when it has the pair,
        else the concept network's. ``KeyError`` when neither can give it, ``ValueError`` when the caption holds
        neither word once."""
        from ..steering import reverse_name

        name, _ = reverse_name(f"{source.strip().lower()}->{target.strip().lower()}", self.concepts)
        spec = self.concepts.spec(name)  # KeyError: an unknown word, two slots, no network; a bank pair's reverse
        # name is that pair (its slider steers back with φ < 0)
        if slot_spec(spec, self.caption.value) is None:
            raise ValueError(f"the caption holds neither {spec.source!r} nor {spec.target!r} once; {name} cannot "
                             "edit it")
        if name not in self.extra:
            self.extra.append(name)
        self._build_sliders({})
        return name

    def _add_from_boxes(self) -> None:
        try:
            name = self.add_pair(self.source_word.value, self.target_word.value)
        except (KeyError, ValueError) as err:
            self._set_status(f"<span style='color:#b00'>{_html.escape(str(err.args[0]))}</span>")
            return
        self._set_status(f"{_html.escape(name)}: vector from the {origin(self.concepts, name)}")

    def _build_sliders(self, values: Mapping[str, float]) -> None:
        import ipywidgets as w

        self._building = True
        try:
            names = editable_pairs(self.caption.value, self.concepts, extra=self.extra)
            old = {name: s.value for name, s in self.sliders.items()}
            self.sliders = {}
            for name in names:
                slider = w.FloatSlider(value=float(values.get(name, old.get(name, 0.0))), min=PHI_RANGE[0],
                                       max=PHI_RANGE[1], step=PHI_STEP,
                                       description=f"φ {name}" + (" (network)" if origin(self.concepts, name)
                                                                   == "network" else ""),
                                       continuous_update=True, readout_format=".2f",
                                       style={"description_width": "190px"}, layout=w.Layout(width="580px"))
                slider.observe(self._on_change, names="value")
                self.sliders[name] = slider
            self.slider_box.children = tuple(self.sliders.values()) or (
                w.HTML("<i>no pair of the concept bank can edit this caption — its pairs: "
                       + _html.escape(", ".join(self.concepts.pairs))
                       + " (a caption needs a pair's source word once, or its target word once and not the "
                       "source word, to steer back)</i>"),)
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
            self._set_status(f"rendering {_html.escape(strength_label(state.strengths, None))} …")
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
