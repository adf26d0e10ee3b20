# %% [markdown]
# # 00 · Set-up and the toy world
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/00_setup_and_toy_world.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** This notebook runs on a CPU in about a minute: it uses only the *toy world*. Later notebooks run
# on the toy world by default too; to use real models (a Hugging Face video VLM and a diffusers text-to-video
# pipeline) pick a GPU runtime (Colab: *Runtime → Change runtime type → T4 GPU*) and set `TIER = "colab-t4"` in
# the config cell: the models and sizes that fit a free T4 (`l2vkit plan --tier colab-t4`).
#
# **What L2V is.** A video VLM reads a video and puts probabilities ω on the words of a caption. *Logits to video*
# asks: what does the model *mean* when one of those logits moves — red → blue, slowly → quickly, desert → snow?
# It answers by steering a text-to-video generator until the VLM's logit moves, and showing the video. The method
# is TRANSPORTER (Stergiou, CVPR 2026, [arXiv 2511.18359](https://arxiv.org/abs/2511.18359)); the glossary linked
# above lists every symbol the series uses.
#
# To check that such a video reflects the VLM and not the generator's habits we need videos whose content can be
# **measured**. That is the toy world: one object (colour, shape, size) moving (adverb, direction) over a textured
# scene, with a caption that says exactly that, and `measure()` that reads every attribute back from the pixels.

# %%
# Set-up: installs l2vkit only when it is missing, from $L2VKIT_SOURCE if set (a git URL of a fork, a wheel, or a
# local path; see docs/installation.md), else from git+https://github.com/l2vkit/l2vkit.
# It never pins, upgrades or reinstalls torch or numpy.
try:
    import l2vkit
except ImportError:
    import os
    import subprocess
    import sys

    source = os.environ.get("L2VKIT_SOURCE", "git+https://github.com/l2vkit/l2vkit")
    spec = f"{source}[colab]" if os.path.exists(source) else f"l2vkit[colab] @ {source}"
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", spec])
    import l2vkit

# %%
# Config: the only cell to change. This notebook needs no models; later ones read TIER here (l2vkit.tiers):
# "toy" = the shipped toy checkpoints on a CPU; "colab-t4" = real models sized for a free Colab T4.
TIER = "toy"
SEED = 0
FRAMES, SIZE = 9, 32  # the toy world's defaults: 9 frames of 32×32 pixels

# %% [markdown]
# ## 1. Environment check
# The same report as `l2vkit env` on the command line — paste it into bug reports.

# %%
from l2vkit.env import collect_env, format_env

print(format_env(collect_env()))

# %% [markdown]
# ## 2. A toy video and its caption
# `random_attributes(seed)` draws an `Attributes`; `render` turns it into a uint8 array of shape (T, H, W, 3);
# `caption` writes the sentence the VLM will learn to say. The same seed always gives the same pixels.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import display

from l2vkit import toyworld as tw
from l2vkit.video import contact_sheet, show_videos

attrs = tw.random_attributes(SEED)
video = tw.render(attrs, seed=SEED, frames=FRAMES, size=SIZE)
print(tw.caption(attrs))
print(video.shape, video.dtype)
show_videos({tw.caption(attrs): video})

# %% [markdown]
# ## 3. Every value of every attribute
# One row per attribute: the same base video with one word changed. This is what a contrast pair o = (π⁻, π⁺)
# edits in a caption, and what steering should change in a video — and nothing else.

# %%
for field, values in tw.ATTRIBUTE_VALUES.items():
    videos = {value: tw.render(attrs.replace(**{field: value}), seed=SEED, frames=FRAMES, size=SIZE)
              for value in values}
    fig, _ = contact_sheet(videos, frames=[0, FRAMES // 2, FRAMES - 1], scale=2, title=field)
    display(fig)
    plt.close(fig)  # shown once: the inline backend would show it again at the end of the cell

# %% [markdown]
# ## 4. Measuring the ground truth
# `measure(video)` reads the attributes back from pixels alone; `measure_details` also returns the quantities it
# used (bounding-box side, travel, fitted velocity, shape IoUs). Later notebooks use it to score generated videos,
# so it has to survive imperfect pixels: here it is on a noisy and a blurred copy.

# %%
from l2vkit.toyworld.corrupt import add_noise, blur

for name, v in {"clean": video, "noise σ=0.1": add_noise(video, 0.1), "blur 3×3": blur(video)}.items():
    m = tw.measure_details(v)
    print(f"{name:12s} {m.attributes == attrs}  travel={m.travel:.3f}  box={m.box_side:.3f}")
show_videos({"noise σ=0.1": add_noise(video, 0.1), "blur 3×3": blur(video)})

# %%
# Accuracy over a batch of random videos, per attribute (benchmarks/measure_accuracy.py runs 2,000).
truth = [tw.random_attributes(i) for i in range(100)]
measured = [tw.measure(add_noise(tw.render(a, seed=i), 0.1, seed=i)) for i, a in enumerate(truth)]
tw.accuracy(truth, measured)

# %% [markdown]
# ## 5. The shipped contrast pairs
# Declared in `data/contrast_pairs.yaml` and validated on load; three families: object attributes, actions
# (adverb, direction) and scenes. `l2vkit demo` renders each pair's source and target side by side.

# %%
for pair in tw.contrast_pairs():
    print(f"{pair.name:18s} {pair.family:10s} slot={pair.slot}")

# %% [markdown]
# ## What to try next
# - Render at a larger size (`size=64`) or with more frames and check that `measure` still agrees.
# - Write your own pair into a YAML file and load it with `l2vkit.pairs.load_pairs(path, vocabulary=tw.ATTRIBUTE_VALUES)`;
#   try a misspelt word to see the error.
# - Find the noise level at which `measure` starts to fail, with `add_noise(video, sigma)`.
# - Next notebook: `01_vlm_embeddings_and_logits` — the Ω side, a VLM reading these videos.
