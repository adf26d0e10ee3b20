"""Figures: matplotlib for static images, plotly for interactive ones.

Figures are built as bare ``matplotlib.figure.Figure`` objects rather than through pyplot: nothing opens a
window, nothing is kept in pyplot's global registry (so repeated notebook runs do not grow memory), and a
notebook still shows a figure returned from a cell.
"""
from __future__ import annotations


def new_figure(rows: int, cols: int, *, cell: float = 1.5, aspect: float = 1.0):
    """A ``rows`` × ``cols`` grid of axes as a 2-D list; panels ``cell`` inches high and ``aspect`` × as wide.

    Returns ``(fig, axes)``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(cols * cell * aspect + 1.2, rows * cell + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes.tolist()
