"""Figures: matplotlib for static images, plotly for interactive ones.

Figures are built as bare ``matplotlib.figure.Figure`` objects rather than through pyplot: nothing opens a
window, nothing is kept in pyplot's global registry (so repeated notebook runs do not grow memory), and a
notebook still shows a figure returned from a cell.

Every static figure function returns ``(fig, ax)`` (or ``(fig, axes)``) and has a ``*_plotly`` twin returning a
``plotly.graph_objects.Figure``:

==========================  ================================================================================
``sweep_grid``              a φ sweep as frames: one row per φ, one column per frame (``sweep_video`` joins the
                            videos side by side instead, for :func:`l2vkit.video.write_video`)
``logit_bars``              the probabilities ω of the words of a contrast pair along both paths (π⁻ and π⁺)
``curves_over_phi``         attribute, flip and probability curves over φ (mean ± std over seeds)
``table_figure``            an ablation or comparison table typeset like a paper's (rules, best values bold)
==========================  ================================================================================

Result objects get ``.plot(show=False) -> (fig, ax)`` and ``.plotly()`` from :class:`PlotMixin`.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from .figures import new_figure, show_figure  # noqa: F401  (part of this module's API)

#: Colours for words and curves (colour-blind-safe, Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def _single_axes(ax, size: tuple[float, float]):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _graph_objects():
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise ImportError("interactive figures need plotly: `pip install plotly` "
                          "(or `pip install l2vkit[notebooks]`)") from None
    return go


class PlotMixin:
    """Plot methods for result objects (captum-style): ``.plot(show=False) -> (fig, ax)`` and ``.plotly()``.

    A subclass implements ``_plot(ax=None, **kwargs) -> (fig, ax)`` (drawing into ``ax`` when given) and
    ``_plotly(**kwargs) -> plotly Figure``. Nothing is shown unless ``show=True``.
    """

    def plot(self, *, show: bool = False, ax=None, **kwargs):
        """Static matplotlib figure ``(fig, ax)``; ``ax`` draws into an existing axes; ``show`` displays it."""
        fig, ax = self._plot(ax=ax, **kwargs)
        if show:
            show_figure(fig)
        return fig, ax

    def plotly(self, *, show: bool = False, **kwargs):
        """Interactive plotly figure."""
        fig = self._plotly(**kwargs)
        if show:
            show_figure(fig)
        return fig

    def _plot(self, ax=None, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no static plot")

    def _plotly(self, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no interactive plot")


# ------------------------------------------------------------------------------------------------------ φ sweeps
def _sweep_items(videos_by_phi) -> list[tuple[float, np.ndarray]]:
    from .video import as_uint8_video

    items = list(videos_by_phi.items()) if isinstance(videos_by_phi, Mapping) else list(videos_by_phi)
    if not items:
        raise ValueError("videos_by_phi is empty; give {phi: video}")
    out = []
    for entry in items:
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
            raise TypeError("videos_by_phi must be a {phi: video} mapping or a list of (phi, video) pairs")
        phi, video = entry
        out.append((float(phi), as_uint8_video(video, name=f"video at φ={phi}")))
    shapes = {v.shape for _, v in out}
    if len(shapes) != 1:
        raise ValueError(f"the videos of a sweep must share one shape, got {sorted(shapes)}")
    return sorted(out, key=lambda item: item[0])


def _phi_label(phi: float) -> str:
    return f"φ = {phi:g}"


def sweep_grid(videos_by_phi, *, frames: Sequence[int] | None = None, scale: int = 4, title: str | None = None):
    """A φ sweep as a frame grid: one row per φ (ascending), one column per frame. Returns ``(fig, axes)``.

    ``videos_by_phi``: ``{phi: (T, H, W, 3) video}`` (or ``(phi, video)`` pairs); ``frames``: which frames
    (default all).
    """
    from .video import contact_sheet

    items = _sweep_items(videos_by_phi)
    t = items[0][1].shape[0]
    frames = list(range(t)) if frames is None else list(frames)
    bad = [k for k in frames if not -t <= k < t]
    if bad or not frames:
        raise ValueError(f"frames {bad or frames} out of range for videos of {t} frames")
    return contact_sheet({_phi_label(p): v for p, v in items}, frames=frames, scale=scale, title=title)


def sweep_video(videos_by_phi, *, gap: int = 1) -> np.ndarray:
    """The videos of a φ sweep side by side, left to right by ascending φ, as one ``(T, H, W', 3)`` uint8 video."""
    from .video import side_by_side

    return side_by_side([v for _, v in _sweep_items(videos_by_phi)], gap=gap)


def _mosaic(items, frames, scale: int, gap: int = 2) -> np.ndarray:
    from .video import upscale

    rows = []
    for _, video in items:
        big = upscale(video[frames], scale)
        t, h, w, _ = big.shape
        row = np.full((h, t * w + (t - 1) * gap, 3), 255, np.uint8)
        for i in range(t):
            row[:, i * (w + gap): i * (w + gap) + w] = big[i]
        rows.append(row)
    h = rows[0].shape[0]
    out = np.full((len(rows) * h + (len(rows) - 1) * gap, rows[0].shape[1], 3), 255, np.uint8)
    for r, row in enumerate(rows):
        out[r * (h + gap): r * (h + gap) + h] = row
    return out


def sweep_grid_plotly(videos_by_phi, *, frames: Sequence[int] | None = None, scale: int = 4,
                      title: str | None = None):
    """Interactive twin of :func:`sweep_grid`: one image (rows φ, columns frames) with labelled axes."""
    go = _graph_objects()
    items = _sweep_items(videos_by_phi)
    t, h, w, _ = items[0][1].shape
    frames = list(range(t)) if frames is None else list(frames)
    gap = 2
    mosaic = _mosaic(items, frames, scale, gap)
    fig = go.Figure(go.Image(z=mosaic, hoverinfo="skip"))
    fig.update_xaxes(tickvals=[i * (w * scale + gap) + w * scale / 2 for i in range(len(frames))],
                     ticktext=[f"t={k}" for k in frames], showgrid=False)
    fig.update_yaxes(tickvals=[r * (h * scale + gap) + h * scale / 2 for r in range(len(items))],
                     ticktext=[_phi_label(p) for p, _ in items], showgrid=False)
    fig.update_layout(title=title, margin=dict(l=70, r=10, t=40 if title else 10, b=30),
                      width=min(1200, mosaic.shape[1] + 100), height=mosaic.shape[0] + (90 if title else 60))
    return fig


# --------------------------------------------------------------------------------------------------- logit bars
def _path_probs(probs, words, name) -> np.ndarray:
    if hasattr(probs, "detach"):
        probs = probs.detach().float().cpu().numpy()
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim == 1:
        probs = probs[None]
    if probs.ndim != 2 or probs.shape[1] != len(words):
        raise ValueError(f"{name} has shape {probs.shape}; expected ({len(words)},) or (steps, {len(words)}) — one "
                         f"probability per word {list(words)}")
    if not np.all(np.isfinite(probs)) or probs.min() < -1e-6 or probs.max() > 1 + 1e-6:
        raise ValueError(f"{name} must hold probabilities in [0, 1] (ω, e.g. TokenProbs.renormalised), not logits")
    return probs


def _bar_inputs(words, probs_source_path, probs_target_path, steps):
    words = [str(w) for w in words]
    if not words:
        raise ValueError("words is empty; give the contrast pair's words, e.g. ['red', 'blue']")
    src = _path_probs(probs_source_path, words, "probs_source_path")
    tgt = _path_probs(probs_target_path, words, "probs_target_path")
    if src.shape != tgt.shape:
        raise ValueError(f"probs_source_path has shape {src.shape} but probs_target_path has {tgt.shape}; give both "
                         "paths at the same steps")
    steps = [str(s) for s in (steps if steps is not None else (range(src.shape[0]) if src.shape[0] > 1 else [""]))]
    if len(steps) != src.shape[0]:
        raise ValueError(f"{len(steps)} step labels for {src.shape[0]} steps")
    return words, src, tgt, steps


def logit_bars(words: Sequence[str], probs_source_path, probs_target_path, *, steps: Sequence | None = None,
               step_label: str = "step", paths: Sequence[str] = ("source path π⁻", "target path π⁺"),
               title: str | None = None):
    """The VLM's probabilities ω of each word along both paths, as grouped bars (the paper's concept-bank figure).

    ``probs_*_path``: ``(K,)`` or ``(steps, K)`` probabilities of the K ``words`` read along the source and the
    target path (e.g. per timestep or φ); ``steps`` labels the groups. Returns ``(fig, axes)`` with two panels.
    """
    words, src, tgt, steps = _bar_inputs(words, probs_source_path, probs_target_path, steps)
    k, s = len(words), len(steps)
    fig, axes = new_figure(1, 2, cell=2.6, aspect=max(1.0, 0.35 * s * k / 2 + 0.5))
    axes = axes[0]
    width = 0.8 / k
    x = np.arange(s)
    for ax, probs, name in zip(axes, (src, tgt), paths):
        for j, word in enumerate(words):
            bars = ax.bar(x - 0.4 + width * (j + 0.5), probs[:, j], width, label=word, color=PALETTE[j % len(PALETTE)])
            if s * k <= 12:
                ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        ax.set_title(name, fontsize=10)
        ax.set_ylim(0, 1.12)
        ax.set_xticks(x, steps)
        if s > 1 or steps[0]:
            ax.set_xlabel(step_label)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("ω (probability)")
    axes[1].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        fig.suptitle(title, fontsize=11)
    return fig, axes


def logit_bars_plotly(words: Sequence[str], probs_source_path, probs_target_path, *, steps: Sequence | None = None,
                      step_label: str = "step", paths: Sequence[str] = ("source path π⁻", "target path π⁺"),
                      title: str | None = None):
    """Interactive twin of :func:`logit_bars`."""
    go = _graph_objects()
    from plotly.subplots import make_subplots

    words, src, tgt, steps = _bar_inputs(words, probs_source_path, probs_target_path, steps)
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(paths), shared_yaxes=True)
    for col, probs in ((1, src), (2, tgt)):
        for j, word in enumerate(words):
            fig.add_trace(go.Bar(x=steps, y=probs[:, j], name=word, legendgroup=word, showlegend=col == 1,
                                 marker_color=PALETTE[j % len(PALETTE)],
                                 hovertemplate=f"{word}: %{{y:.3f}}<extra>{paths[col - 1]}</extra>"), row=1, col=col)
    fig.update_layout(barmode="group", title=title, yaxis_title="ω (probability)", height=380)
    fig.update_yaxes(range=[0, 1.05])
    if len(steps) > 1 or steps[0]:
        fig.update_xaxes(title_text=step_label)
    return fig


# ------------------------------------------------------------------------------------------------ curves over φ
def _curves(phis, values_by_name):
    phis = np.asarray(phis, dtype=np.float64)
    if phis.ndim != 1 or phis.size == 0 or not np.all(np.isfinite(phis)):
        raise ValueError(f"phis must be a non-empty 1-D sequence of finite numbers, got shape {phis.shape}")
    if not isinstance(values_by_name, Mapping) or not values_by_name:
        raise ValueError("values_by_name must be a non-empty {name: values} mapping")
    out = {}
    for name, values in values_by_name.items():
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 1:
            v = v[None]
        if v.ndim != 2 or v.shape[1] != phis.size:
            raise ValueError(f"values_by_name[{name!r}] has shape {np.shape(values)}; expected ({phis.size},) or "
                             f"(seeds, {phis.size}) to match phis")
        mean = np.nanmean(v, axis=0)
        std = np.nanstd(v, axis=0) if v.shape[0] > 1 else None
        out[str(name)] = (mean, std)
    return phis, out


def curves_over_phi(phis, values_by_name: Mapping[str, Sequence], *, ylabel: str | None = None,
                    title: str | None = None, ylim: tuple | None = None, ax=None, emphasis: int | None = None):
    """Curves over the steering strength φ: attribute accuracy, flip rate, the target word's probability, …

    ``values_by_name``: ``{name: values}`` with values ``(len(phis),)`` or ``(seeds, len(phis))`` — the latter
    drawn as mean ± std. ``emphasis=k`` draws the first k curves bold and the rest thin. Returns ``(fig, ax)``.
    """
    phis, curves = _curves(phis, values_by_name)
    fig, ax = _single_axes(ax, (5.8 if len(curves) > 4 else 4.6, 3.2))
    for i, (name, (mean, std)) in enumerate(curves.items()):
        strong = emphasis is None or i < emphasis
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(phis, mean, marker="o" if strong else ".", lw=2.0 if strong else 1.0, ls="-" if strong else "--",
                ms=5 if strong else 4, color=colour, label=name, alpha=1.0 if strong else 0.8)
        if std is not None:
            ax.fill_between(phis, mean - std, mean + std, color=colour, alpha=0.15, lw=0)
    ax.set_xlabel("φ (steering strength)")
    if ylabel:
        ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    outside = len(curves) > 4
    ax.legend(frameon=False, fontsize=7 if outside else 8,
              **({"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)} if outside else {}))
    if title:
        ax.set_title(title, fontsize=10)
    return fig, ax


def curves_over_phi_plotly(phis, values_by_name: Mapping[str, Sequence], *, ylabel: str | None = None,
                           title: str | None = None, ylim: tuple | None = None):
    """Interactive twin of :func:`curves_over_phi` (bands are mean ± std)."""
    go = _graph_objects()
    phis, curves = _curves(phis, values_by_name)
    fig = go.Figure()
    for i, (name, (mean, std)) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        if std is not None:
            fig.add_trace(go.Scatter(x=np.concatenate([phis, phis[::-1]]),
                                     y=np.concatenate([mean + std, (mean - std)[::-1]]), fill="toself",
                                     fillcolor=colour, opacity=0.15, line=dict(width=0), hoverinfo="skip",
                                     showlegend=False, legendgroup=name))
        fig.add_trace(go.Scatter(x=phis, y=mean, mode="lines+markers", name=name, line=dict(color=colour),
                                 legendgroup=name))
    fig.update_layout(title=title, xaxis_title="φ (steering strength)", yaxis_title=ylabel, height=400)
    if ylim:
        fig.update_yaxes(range=list(ylim))
    return fig


# -------------------------------------------------------------------------------------------------------- tables
def _format_cell(value, fmt: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "–" if math.isnan(value) else fmt.format(float(value))
    return str(value)


def _table_cells(rows, columns, fmt, best):
    columns = [str(c) for c in columns]
    if not columns:
        raise ValueError("columns is empty")
    raw = []
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            unknown = set(map(str, row)) - set(columns)
            if unknown:
                raise ValueError(f"rows[{i}] has keys {sorted(unknown)} that are not columns {columns}")
            raw.append([row.get(c) for c in columns])
        else:
            row = list(row)
            if len(row) != len(columns):
                raise ValueError(f"rows[{i}] has {len(row)} cells for {len(columns)} columns")
            raw.append(row)
    if not raw:
        raise ValueError("rows is empty; a table needs at least one row")
    bold = np.zeros((len(raw), len(columns)), bool)
    for column, rule in (best or {}).items():
        if column not in columns:
            raise ValueError(f"best names column {column!r}, which is not one of {columns}")
        if rule not in ("max", "min"):
            raise ValueError(f"best[{column!r}]={rule!r}; use 'max' or 'min'")
        j = columns.index(column)
        numbers = [(i, float(r[j])) for i, r in enumerate(raw)
                   if isinstance(r[j], (int, float, np.number)) and not isinstance(r[j], bool)
                   and not math.isnan(float(r[j]))]
        if numbers:
            target = (max if rule == "max" else min)(v for _, v in numbers)
            for i, v in numbers:
                bold[i, j] = v == target
    text = [[_format_cell(v, fmt) for v in r] for r in raw]
    numeric = [all(isinstance(r[j], (int, float, np.number)) or r[j] is None for r in raw) for j in range(len(columns))]
    return columns, text, bold, numeric


def table_figure(rows, columns: Sequence[str], title: str | None = None, *, best: Mapping[str, str] | None = None,
                 fmt: str = "{:.3g}", caption: str | None = None):
    """A table typeset like a paper's ablation or comparison table: top, header and bottom rules, no vertical lines,
    the best value of each column named in ``best`` (``{"FVD ↓": "min", "CLIP ↑": "max"}``) in bold.

    ``rows``: lists of cells in ``columns`` order, or dicts keyed by column (missing cells print "–"). Numbers are
    formatted with ``fmt``; None and NaN print "–". Returns ``(fig, ax)``.
    """
    columns, text, bold, numeric = _table_cells(rows, columns, fmt, best)
    widths = [max(len(columns[j]), *(len(r[j]) for r in text)) + 3 for j in range(len(columns))]
    char_in = 0.085
    row_in = 0.27
    total = sum(widths)
    fig_w = max(total * char_in + 0.4, 2.5)
    fig_h = (len(text) + 1) * row_in + 0.35 + (0.3 if title else 0) + (0.3 if caption else 0)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0.02, 0.02 + (0.3 / fig_h if caption else 0), 0.96,
                       ((len(text) + 1) * row_in + 0.2) / fig_h))
    ax.set_axis_off()
    n = len(text) + 1
    ax.set_xlim(0, total)
    ax.set_ylim(0, n + 0.3)
    left = np.concatenate([[0], np.cumsum(widths)[:-1]])

    def put(row_index, j, value, weight):
        y = n - row_index - 0.5
        if j == 0 or not numeric[j]:
            ax.text(left[j] + 0.5, y, value, ha="left", va="center", fontsize=9, fontweight=weight)
        else:
            ax.text(left[j] + widths[j] / 2, y, value, ha="center", va="center", fontsize=9, fontweight=weight)

    for j, name in enumerate(columns):
        put(0, j, name, "bold")
    for i, row in enumerate(text):
        for j, value in enumerate(row):
            put(i + 1, j, value, "bold" if bold[i, j] else "normal")
    ax.hlines([n, 0], 0, total, color="black", lw=1.4)  # top and bottom rules
    ax.hlines([n - 1], 0, total, color="black", lw=0.7)  # header rule
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.12 / fig_h, va="top")
    if caption:
        fig.text(0.02, 0.1 / fig_h, caption, fontsize=8, style="italic", va="bottom")
    return fig, ax


def table_figure_plotly(rows, columns: Sequence[str], title: str | None = None, *,
                        best: Mapping[str, str] | None = None, fmt: str = "{:.3g}"):
    """Interactive twin of :func:`table_figure` (best values bold)."""
    go = _graph_objects()
    columns, text, bold, _ = _table_cells(rows, columns, fmt, best)
    cells = [[f"<b>{text[i][j]}</b>" if bold[i, j] else text[i][j] for i in range(len(text))]
             for j in range(len(columns))]
    fig = go.Figure(go.Table(header=dict(values=[f"<b>{c}</b>" for c in columns], fill_color="white",
                                         line_color="black", align="center"),
                             cells=dict(values=cells, fill_color="white", line_color="lightgrey", align="center")))
    fig.update_layout(title=title, height=120 + 30 * len(text), margin=dict(l=10, r=10, t=40 if title else 10, b=10))
    return fig
