# %% [markdown]
# # 05 · Adverb steering: slowly ↔ quickly
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/05_adverb_steering.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** On the toy world (default) this runs on a CPU in under a minute with the shipped coupling and concept
# bank. With real models (`TIER = "colab-t4"`) use a GPU runtime: the notebook then fits a small coupling and
# trains the `slowly->quickly` concept first (tens of minutes on a T4).
#
# Colours and shapes live in every frame; an adverb lives only *between* frames. For the VLM, "quickly" is a
# statement about how far the object travels over the clip, so the concept q for the pair `slowly → quickly` has to
# change the motion the generator produces — the trajectory over time — while leaving the object and the scene alone.
#
# We steer with π⁻ + φ·q and measure the object's travel from the pixels (the toy world's `measure_details` fits the
# object's centre per frame), next to the VLM's probability of *quickly*. Negative φ asks for the opposite direction
# in condition space: is "less quick than slow" slower still? Finally we inject q only in a window of sampling steps
# to see *when* motion is decided.
#
# **Learning objectives.** After this notebook you can
# - steer an adverb and measure it from the pixels (the object's travel) next to the VLM's reading;
# - find where the VLM's reading crosses to the target word along φ;
# - restrict steering to a window of sampling steps (exercise 1) and find when motion is decided.
#
# The exercise cells (a `raise NotImplementedError` to replace, then a checker that prints PASS or names the
# mistake) sit inside the sections they belong to; each has a folded hint and solution.

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
    spec = f"{source}[colab,text]" if os.path.exists(source) else f"l2vkit[colab,text] @ {source}"
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", spec])
    import l2vkit

# %%
# Config: the only cell to change. TIER picks the models, video size and steps (l2vkit.tiers): "toy" = the
# shipped toy checkpoints on a CPU; "colab-t4" = Wan2.1-T2V-1.3B + Qwen2.5-VL-3B sized for a free Colab T4
# (`l2vkit plan --tier colab-t4` prints every stage's memory; `get_tier("colab-t4").gives_up` what it trades
# away); "a100-80g" for one 80 GB GPU.
from l2vkit.labs import fast_mode

TIER = "toy"
SEED = 0
PAIR = "slowly->quickly"
PHIS = (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
FAST = fast_mode()  # fast lab mode ($L2VKIT_FAST=1, or write True): 2 seeds instead of 4
SEEDS = range(2 if FAST else 4)

# %% [markdown]
# ## 1. Models, coupling Φ and the concept bank

# %%
# %matplotlib inline
import numpy as np
import torch
from IPython.display import display

from l2vkit import steer
from l2vkit import toyworld as tw
from l2vkit.concepts import slot_prefix, swap_word
from l2vkit.plots import curves_over_phi, logit_bars, new_figure, sweep_grid
from l2vkit.toyworld import toy_captions
from l2vkit.video import show_videos
from l2vkit.tiers import get_tier
from l2vkit.toyworld.steering_eval import evaluation_captions
from l2vkit.workflow import load_generator, load_vlm, prepare_real_models

tier = get_tier(TIER)
if tier.is_toy:
    vlm, gen = load_vlm(tier), load_generator(tier)
    coupling = tw.load_coupling(vlm=vlm, generator=gen)  # fitted by python -m l2vkit.toyworld.train_coupling
    bank = tw.load_concepts(generator=gen)  # trained by python -m l2vkit.toyworld.train_concepts
else:
    # Real models (GPU): l2vkit.workflow runs every stage in the tier's order and sizes (captions encoded once,
    # a small Φ fitted on clips the generator makes itself as in notebook 03, the concepts trained) and saves
    # each under outputs/real/ so that a rerun picks up where it stopped. The captions sampled below are
    # encoded up front: on colab-t4 the text encoder is freed before G loads.
    pairs = [p for p in tw.contrast_pairs() if p.name == PAIR]
    texts = [tw.caption(tw.random_attributes(i)) for i in range(tier.clips)]
    pair_captions = {p.name: tw.toy_captions(p, tier.concept_samples_per_pair, seed=k) for k, p in enumerate(pairs)}
    # the captions of section 2's seeds and their swaps
    vlm, gen, coupling, bank = prepare_real_models(tier, texts, pairs, pair_captions,
                                                   extra_captions=evaluation_captions(pairs, SEEDS))
spec = bank.spec(PAIR)
print(spec)

# %% [markdown]
# ## 2. Speed, measured
# One caption per seed with *slowly* in the adverb slot; every seed is steered at every φ from the same noise (one
# batched sampling run per φ). `travel` is how far the fitted centre moves over the clip, as a fraction of the frame.

# %%
captions = [toy_captions(spec, 1, seed=10_000 + s)[0] for s in SEEDS]
base = gen.encode_prompt(captions)


def travel(video):
    try:
        return tw.measure_details(video).travel
    except ValueError:  # no object found
        return float("nan")


def p_quickly(videos, texts=captions):
    """P(quickly) renormalised over slowly/quickly, read by the VLM from each video's pixels."""
    with torch.no_grad():
        tokens = vlm.visual_tokens(np.asarray(videos))
    return [float(vlm.token_probs(tokens[i:i + 1], slot_prefix(spec, c), [spec.source, spec.target])
                  .renormalised[0, 1]) for i, c in enumerate(texts)]


videos, travels, probs = {}, {}, {}
for phi in PHIS:
    run = gen.sample(base.with_embeds(base.embeds + phi * bank[PAIR]), seed=SEED, output="frames")
    videos[phi] = run.frames
    travels[phi] = [travel(v) for v in run.frames]
    probs[phi] = p_quickly(run.frames)
swap = gen.sample(gen.encode_prompt([swap_word(spec, c) for c in captions]), seed=SEED, output="frames").frames
swap_travel = np.nanmean([travel(v) for v in swap])

print(f"{'φ':>5} {'travel (mean over seeds)':>26} {'P(quickly) from pixels':>24}")
for phi in PHIS:
    print(f"{phi:5.1f} {np.nanmean(travels[phi]):26.3f} {np.mean(probs[phi]):24.3f}")
print(f"prompt swap ('quickly' in the caption): travel {swap_travel:.3f}")

# Where the VLM's reading crosses to *quickly* (mean over seeds, linear between the φ values run); the text below
# relies on it, so the cell fails if a retrained toy model moves it.
mean_p = np.array([np.mean(probs[p]) for p in PHIS])
above = int(np.argmax(mean_p >= 0.5))
crossing = np.interp(0.5, mean_p[above - 1:above + 1], PHIS[above - 1:above + 1])
print(f"P(quickly) crosses 0.5 at φ ≈ {crossing:.2f}")
if tier.is_toy:
    assert 0.5 <= crossing <= 1.0 and mean_p[PHIS.index(1.5)] > 0.9, crossing

fig, axes = new_figure(1, 2, cell=2.6, aspect=1.4)
curves_over_phi(PHIS, {"travel": np.array([travels[p] for p in PHIS]).T}, ax=axes[0][0],
                ylabel="travel (fraction of frame)", title="measured speed")
axes[0][0].axhline(swap_travel, color="grey", ls=":", lw=1)
axes[0][0].text(PHIS[0], swap_travel, " prompt swap", va="bottom", fontsize=8, color="grey")
curves_over_phi(PHIS, {"P(quickly)": np.array([probs[p] for p in PHIS]).T}, ax=axes[0][1], ylim=(-0.03, 1.03),
                title="the VLM's reading")
fig

# %% [markdown]
# ## 3. What motion looks like
# All nine frames of the first seed at three strengths: the object's displacement from frame to frame is the adverb.

# %%
fig, _ = sweep_grid({phi: videos[phi][0] for phi in (-1.0, 0.0, 1.0)}, scale=2, title=captions[0])
display(fig)
show_videos({f"φ = {phi:g}": videos[phi][0] for phi in (-1.0, 0.0, 1.0, 1.5)})

# %% [markdown]
# ## 4. When is motion decided?
# `window=(start, end)` injects q only in the sampling steps i with start ≤ i/steps < end. φ = 1.5 here: past the
# point where the VLM's reading crosses to *quickly* (between φ = 0.5 and 1 above), so a window that carries the
# concept still reaches *quickly* although it steers fewer steps. Early steps lay out the coarse structure of the
# clip, late steps refine details; where does the object's trajectory get decided? (φ = 1.5 lies outside
# slowly → quickly's measured strength range, 0.25–1.25, so `steer` warns once: expect other attributes to drift.)

# %%
windows = {"unsteered": None, "every step": None, "first 30 %": (0.0, 0.3), "middle 40 %": (0.3, 0.7),
           "last 30 %": (0.7, 1.0)}
rows, window_travel = {}, {}
for name, window in windows.items():
    phi = 0.0 if name == "unsteered" else 1.5
    rows[name] = [steer(gen, c, {PAIR: phi}, concepts=bank, seed=SEED, window=window).video for c in captions[:2]]
    window_travel[name] = np.nanmean([travel(v) for v in rows[name]])
    print(f"{name:11s} travel {window_travel[name]:.3f}   "
          f"P(quickly) {np.mean(p_quickly(rows[name], captions[:2])):.3f}")
show_videos({name: runs[0] for name, runs in rows.items()})
if tier.is_toy:  # the next paragraph's claim: of the three windows, the middle one moves the object most
    assert window_travel["middle 40 %"] > max(window_travel["first 30 %"], window_travel["last 30 %"]), window_travel

# %% [markdown]
# On the toy generator the middle of the trajectory carries most of the change: the first steps have not yet placed
# the object, the last ones only sharpen it. The same experiment on a real generator is a cheap way to find the
# window in which a concept acts — and the window in which it does least collateral damage.

# %% [markdown]
# ### Exercise 1 · which steps does a window steer?
# `window=(start, end)` steers sampling step i (counted from 0) when start ≤ i/steps < end. Write
# `window_steps(steps, start, end)` that lists those steps — e.g. which of this notebook's sampling steps the
# "middle 40 %" window above steered (`window_steps(gen.steps, 0.3, 0.7)` once it passes).
#
# <details><summary>Hint</summary>
#
# Loop over i in range(steps). Windows that meet, like (0, 0.3) and (0.3, 0.7), must share no step.
#
# </details>
# <details><summary>Solution</summary>
#
# ```python
# def window_steps(steps, start, end):
#     return [i for i in range(steps) if start <= i / steps < end]
# ```
#
# </details>

# %%
from l2vkit import labs


def window_steps(steps, start, end):
    """The sampling steps (from 0) that the window (start, end) covers."""
    raise NotImplementedError  # replace with your code


labs.check_window_steps(window_steps);

# %% [markdown]
# ## 5. The VLM's view of both paths
# The paper's concept figure: the VLM's probabilities of *slowly* and *quickly* along the source path (π⁻ + φ·q, from
# the slow caption towards quick) and along the target path (π⁺ − φ·q, from the quick caption back), read from the
# pixels of the first seed's videos.

# %%
plus = gen.encode_prompt(swap_word(spec, captions[0]))
steps = [p for p in PHIS if p >= 0]
back = [gen.sample(plus.with_embeds(plus.embeds - phi * bank[PAIR]), seed=SEED, output="frames").frames
        for phi in steps]
source_path = np.array([[1 - probs[p][0], probs[p][0]] for p in steps])
target_path = np.array([[1 - q, q] for q in p_quickly(back, [captions[0]] * len(back))])
fig, _ = logit_bars([spec.source, spec.target], source_path, target_path, steps=[f"{p:g}" for p in steps],
                    step_label="φ", paths=("source path π⁻ + φ·q", "target path π⁺ − φ·q"))
fig

# %% [markdown]
# The two paths need not mirror each other: the VLM's *quickly* is a threshold on speed, and the toy generator's
# quick captions do not always clear it (the prompt-swap videos above move faster, yet the VLM may still say
# *slowly*). Steering shows where the VLM's threshold sits, in videos.

# %% [markdown]
# ## What to try next
# - Steer the direction instead: `left->right` should flip the sign of the horizontal velocity
#   (`tw.measure_details(v).velocity`).
# - Combine `slowly->quickly` with a window that starts late (`(0.5, 1.0)`): does the VLM still say *quickly* when the
#   measured travel barely changes?
# - Use all nine frames as a `frame_mask` argument to `steer` (notebook 06): steering only the last frames changes the
#   speed mid-clip.
# - Next notebook: `06_scene_steering_and_composition`.
