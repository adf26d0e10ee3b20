"""Matplotlib figure helpers the video and plotting modules share: a grid of panels, and showing a figure in a
notebook. matplotlib loads inside the functions."""
from __future__ import annotations


def new_figure(rows: int, cols: int, *, cell: float = 1.5, aspect: float = 1.0):
    """A ``rows`` × ``cols`` grid of axes as a 2-D list; panels ``cell`` inches high and ``aspect`` × as wide.

    Returns ``(fig, axes)``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(cols * cell * aspect + 1.2, rows * cell + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes.tolist()


def show_figure(fig) -> None:
    """Display a figure (matplotlib or plotly) in a notebook; outside one, say how to save it instead."""
    import warnings

    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(fig)
    else:
        warnings.warn("show=True displays figures in notebooks; in a script save it with "
                      "l2vkit.video.save_figure(fig, 'figure.png') (or fig.write_html for plotly)", stacklevel=3)
