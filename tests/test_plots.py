"""Figures render headless (Agg, no pyplot), show what they were given, and reject bad input clearly."""
import io
import subprocess
import sys
import warnings

import numpy as np
import pytest

from l2vkit import plots

pytestmark = pytest.mark.unit


def rendered(fig) -> np.ndarray:
    """The figure as an RGB array (Agg), to check that it draws and is not blank."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    image = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    assert image.std() > 5, "figure rendered blank"
    return image


def sweep(n_phi=3, t=5):
    rng = np.random.default_rng(0)
    return {phi: rng.integers(0, 255, size=(t, 8, 8, 3), dtype=np.uint8) for phi in np.linspace(0, 1, n_phi)}


def test_sweep_grid_rows_are_phis_and_columns_frames():
    videos = sweep()
    shuffled = dict(reversed(list(videos.items())))
    fig, axes = plots.sweep_grid(shuffled, frames=[0, 2, 4], title="a sweep")
    assert len(axes) == 3 and len(axes[0]) == 3
    assert [row[0].get_ylabel() for row in axes] == ["φ = 0", "φ = 0.5", "φ = 1"]  # ascending φ
    np.testing.assert_array_equal(axes[1][2].get_images()[0].get_array(), videos[0.5][4])
    assert axes[-1][1].get_xlabel() == "t=2"
    rendered(fig)
    with pytest.raises(ValueError, match="out of range"):
        plots.sweep_grid(videos, frames=[9])
    with pytest.raises(ValueError, match="one shape"):
        plots.sweep_grid({0.0: videos[0.0], 1.0: videos[1.0][:3]})
    with pytest.raises(ValueError, match="empty"):
        plots.sweep_grid({})


def test_sweep_video_and_plotly_twin():
    videos = sweep()
    joined = plots.sweep_video(videos, gap=2)
    assert joined.shape == (5, 8, 3 * 8 + 2 * 2, 3)
    np.testing.assert_array_equal(joined[:, :, -8:], videos[1.0])
    fig = plots.sweep_grid_plotly(videos, frames=[0, 4], scale=2)
    image = fig.data[0]
    assert image.type == "image" and np.asarray(image.z).shape == (3 * 16 + 2 * 2, 2 * 16 + 2, 3)
    assert list(fig.layout.yaxis.ticktext) == ["φ = 0", "φ = 0.5", "φ = 1"]


def test_logit_bars_heights_are_the_probabilities():
    src = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]])
    tgt = np.array([[0.2, 0.8], [0.1, 0.9], [0.05, 0.95]])
    fig, axes = plots.logit_bars(["red", "blue"], src, tgt, steps=["t=1", "t=0.5", "t=0"], step_label="timestep")
    for ax, probs in zip(axes, (src, tgt)):
        heights = [p.get_height() for p in ax.patches]
        assert heights == pytest.approx(list(probs[:, 0]) + list(probs[:, 1]))  # word by word
        assert [t.get_text() for t in ax.get_xticklabels()] == ["t=1", "t=0.5", "t=0"]
    assert axes[0].get_title() == "source path π⁻" and axes[1].get_title() == "target path π⁺"
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["red", "blue"]
    rendered(fig)
    one_step, _ = plots.logit_bars(["red", "blue"], [0.6, 0.4], [0.3, 0.7])
    rendered(one_step)


def test_logit_bars_bad_input():
    with pytest.raises(ValueError, match="not logits"):
        plots.logit_bars(["red", "blue"], [3.2, -1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="one probability per word"):
        plots.logit_bars(["red", "blue"], [0.2, 0.3, 0.5], [0.5, 0.5])
    with pytest.raises(ValueError, match="same steps"):
        plots.logit_bars(["red", "blue"], [[0.5, 0.5]] * 2, [[0.5, 0.5]] * 3)
    with pytest.raises(ValueError, match="step labels"):
        plots.logit_bars(["red", "blue"], [[0.5, 0.5]] * 2, [[0.5, 0.5]] * 2, steps=["a"])


def test_logit_bars_plotly_twin():
    torch = pytest.importorskip("torch")
    fig = plots.logit_bars_plotly(["red", "blue"], torch.tensor([[0.9, 0.1]]), np.array([[0.2, 0.8]]))
    assert [t.name for t in fig.data] == ["red", "blue", "red", "blue"]
    assert [float(t.y[0]) for t in fig.data] == pytest.approx([0.9, 0.1, 0.2, 0.8])
    assert fig.layout.barmode == "group"


def test_curves_over_phi_mean_and_band():
    phis = [0.0, 0.5, 1.0]
    per_seed = np.array([[0.0, 0.5, 1.0], [0.0, 1.0, 1.0]])
    fig, ax = plots.curves_over_phi(phis, {"flip rate": per_seed, "preservation": [1.0, 1.0, 0.9]},
                                    ylabel="share", title="t", ylim=(0, 1.05))
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["flip rate", "preservation"]
    assert list(lines[0].get_ydata()) == pytest.approx([0.0, 0.75, 1.0])
    assert len(ax.collections) == 1  # one mean ± std band, for the 2-D values only
    assert ax.get_xlabel() == "φ (steering strength)" and ax.get_ylim() == (0, 1.05)
    rendered(fig)
    fig2 = plots.curves_over_phi_plotly(phis, {"flip rate": per_seed})
    assert len(fig2.data) == 2 and list(fig2.data[1].y) == pytest.approx([0.0, 0.75, 1.0])
    with pytest.raises(ValueError, match="to match phis"):
        plots.curves_over_phi(phis, {"x": [1, 2]})
    with pytest.raises(ValueError, match="non-empty"):
        plots.curves_over_phi(phis, {})


def test_curves_draw_into_a_given_axes():
    fig, axes = plots.new_figure(1, 2)
    out_fig, out_ax = plots.curves_over_phi([0, 1], {"a": [0, 1]}, ax=axes[0][1])
    assert out_fig is fig and out_ax is axes[0][1] and len(axes[0][0].get_lines()) == 0


def test_table_figure_like_a_paper():
    rows = [{"method": "LEAPS", "FVD ↓": 310.0, "CLIP ↑": 0.21, "steps": 1000},
            {"method": "ours", "FVD ↓": 250.5, "CLIP ↑": 0.27, "steps": None},
            ["ours (no OT)", 281.0, float("nan"), 1000]]
    columns = ["method", "FVD ↓", "CLIP ↑", "steps"]
    fig, ax = plots.table_figure(rows, columns, "Ablation", best={"FVD ↓": "min", "CLIP ↑": "max"},
                                 caption="toy world, 3 seeds")
    texts = {t.get_text(): t for t in ax.texts}
    assert {"method", "LEAPS", "250", "0.27", "–", "1000"} <= set(texts)
    assert texts["250"].get_fontweight() == "bold" and texts["0.27"].get_fontweight() == "bold"
    assert texts["310"].get_fontweight() == "normal" and texts["0.21"].get_fontweight() == "normal"
    assert len(ax.collections) == 2  # the rules
    rendered(fig)
    fig2 = plots.table_figure_plotly(rows, columns, "Ablation", best={"FVD ↓": "min"})
    cells = fig2.data[0].cells.values
    assert list(cells[1]) == ["310", "<b>250</b>", "281"]
    with pytest.raises(ValueError, match="not one of"):
        plots.table_figure(rows, columns, best={"LPIPS": "min"})
    with pytest.raises(ValueError, match="2 cells for 4 columns"):
        plots.table_figure([["a", 1]], columns)
    with pytest.raises(ValueError, match="not columns"):
        plots.table_figure([{"speed": 1}], columns)


def test_plot_mixin_shows_only_when_asked():
    class Result(plots.PlotMixin):
        def _plot(self, ax=None):
            return plots.curves_over_phi([0, 1], {"a": [0, 1]}, ax=ax)

        def _plotly(self):
            return plots.curves_over_phi_plotly([0, 1], {"a": [0, 1]})

    result = Result()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig, ax = result.plot()
    assert len(ax.get_lines()) == 1
    with pytest.warns(UserWarning, match="save_figure"):  # no notebook here: says how to save instead
        result.plot(show=True)
    assert len(result.plotly().data) == 1


def test_ground_truth_scores_plots():
    from l2vkit.toyworld import Attributes
    from l2vkit.toyworld.ground_truth import ground_truth_scores

    red = Attributes("red", "circle", "small", "quickly", "left", "desert")
    scores = ground_truth_scores(red, "colour", "blue", {0.0: [red], 1.0: [red.replace(colour="blue")]},
                                 target_probs={0.0: [0.1], 1.0: [0.8]})
    fig, ax = scores.plot()
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["flip rate (colour = blue)", "preservation rate", "p(blue)"] and len(labels) == 8
    rendered(fig)
    interactive = scores.plotly()
    assert [t.name for t in interactive.data][:3] == labels[:3]


def test_plots_never_touch_pyplot():
    code = ("import sys, numpy as np; from l2vkit import plots; "
            "fig, ax = plots.curves_over_phi([0, 1], {'a': [0, 1]}); fig.savefig('/dev/null', format='png'); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
