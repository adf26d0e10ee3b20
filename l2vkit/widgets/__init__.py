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

Modules: :mod:`~l2vkit.widgets.state` (the state), :mod:`~l2vkit.widgets.rendering` (:func:`render`),
:mod:`~l2vkit.widgets.summary` (its HTML summary), :mod:`~l2vkit.widgets.debounce` (:class:`Debouncer`) and
:mod:`~l2vkit.widgets.editor` (:class:`LogitEditor`).
"""
from __future__ import annotations

from .debounce import Debouncer
from .editor import EXAMPLE_CAPTIONS, LogitEditor, logit_editor
from .rendering import CACHE_ENTRIES, RenderOutput, RenderStopped, render
from .state import FULL_WINDOW, PHI_RANGE, PHI_STEP, EditorState, editable_pairs

__all__ = ["Debouncer", "EditorState", "LogitEditor", "RenderOutput", "RenderStopped", "editable_pairs",
           "logit_editor", "render"]
