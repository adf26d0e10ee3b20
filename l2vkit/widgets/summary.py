"""The logit editor's text: the label of an edit and the HTML summary table of a render."""
from __future__ import annotations

import html as _html
from typing import Mapping

from .state import origin, steers_back


def strength_label(active: Mapping[str, float], window) -> str:
    """A one-line label of an edit: each pair's φ, and the timestep window when one is set."""
    text = ", ".join(f"{k} φ={v:g}" for k, v in active.items()) or "no edit (every φ = 0)"
    if window is not None and active:
        text += f" in steps {window[0]:g}–{window[1]:g}"
    return text


def summary_html(caption, active, ignored, window, state, probs, pixel_probs, concepts, reference_caption,
                 vlm_caption, measured, outside=None) -> str:
    """The HTML summary of a render: caption, edit, seed and steps, the VLM's captions, the measurement, each φ
    outside its pair's strength range (``outside``: ``{pair: reason}``), and each editable pair's probabilities read
    through Φ and from the pixels."""
    e = _html.escape
    rows = [("caption", e(caption)),
            ("edit", e(strength_label(active, window))),
            ("seed / steps", f"{int(state.seed)} / {state.steps if state.steps is not None else 'default'}"),
            ("VLM caption, unsteered", e(reference_caption)),
            ("VLM caption, edited", f"<b>{e(vlm_caption)}</b>")]
    if measured is not None:
        rows.append(("measured (toy ground truth)", e(_measured_text(measured))))
    for name, reason in (outside or {}).items():
        rows.append(("⚠ strength", e(f"φ={active[name]:g} for {name} is {reason}")))
    back = [concepts.spec(n) for n in probs if steers_back(concepts.spec(n), caption)]
    if back:
        rows.append(("steering back", e("; ".join(f"{s.name}: the caption holds {s.target!r}, φ < 0 steers towards "
                                                 f"{s.source!r}" for s in back))))
    predicted = [n for n in probs if origin(concepts, n) == "network"]
    if predicted:
        rows.append(("from the network", e(", ".join(predicted)) + " — no trained vector: q predicted by the concept "
                     "network from the caption and its swap"))
    if ignored:
        rows.append(("ignored", e(", ".join(ignored)) + " — the caption holds neither word of the pair once"))
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
