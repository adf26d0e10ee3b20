# %% [markdown]
# # 06 · Scenes, several concepts at once, timestep windows and frame masks
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/06_scene_steering_and_composition.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** On the toy world (default) this runs on a CPU in under a minute with the shipped coupling and concept
# bank. With real models (`TIER = "colab-t4"`) use a GPU runtime: the notebook then fits a small coupling and
# trains the three concepts it uses first (tens of minutes on a T4).
#
# A scene word changes every pixel that is not the object — the opposite of a colour word. The concept vectors of both
# live in the same condition space Ξ, so they can be **added**: sampling with π⁻ + Σ_k φ_k q_k asks for several logit
# changes at once, and the toy world can check whether each arrives without spoiling the other.
#
# Two more controls come from how flow-matching sampling works. A **timestep window** injects the concepts only in
# some sampling steps: the early, noisy steps decide coarse layout (the scene), the late ones details. A **frame mask**
# steers only some frames: the other latent frames are kept on the unsteered trajectory, so the video can change
# part-way through.
#
# **Learning objectives.** After this notebook you can
# - steer scenes and add two concepts at once (π⁻ + Σ φ_k q_k), checking each by ground truth;
# - confine steering to a window of sampling steps;
# - confine it to some frames, and map a video-frame mask to the latent frames it steers (exercise 1).
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
TIER = "toy"
SEED = 1
PAIRS = ("desert->snow", "grass->sea", "red->blue")
PHIS = (0.0, 0.5, 1.0)

# %% [markdown]
# ## 1. Models, coupling Φ and the concept bank

# %%
# %matplotlib inline
import numpy as np
import torch
from IPython.display import display

from l2vkit import steer, sweep
from l2vkit import toyworld as tw
from l2vkit.concepts import slot_prefix
from l2vkit.plots import new_figure, sweep_grid
from l2vkit.toyworld.steering_eval import measured_attributes
from l2vkit.video import contact_sheet, show_videos
from l2vkit.tiers import get_tier
from l2vkit.workflow import load_generator, load_vlm, prepare_real_models

tier = get_tier(TIER)
captions = {"desert->snow": "a small red circle moves slowly up in the desert",  # sections 2 to 5
            "grass->sea": "a large green square moves quickly down in the grass"}
if tier.is_toy:
    vlm, gen = load_vlm(tier), load_generator(tier)
    coupling = tw.load_coupling(vlm=vlm, generator=gen)  # fitted by python -m l2vkit.toyworld.train_coupling
    bank = tw.load_concepts(generator=gen)  # trained by python -m l2vkit.toyworld.train_concepts
else:
    # Real models (GPU): l2vkit.workflow runs every stage in the tier's order and sizes (captions encoded once,
    # a small Φ fitted on clips the generator makes itself as in notebook 03, the concepts trained) and saves
    # each under outputs/real/ so that a rerun picks up where it stopped. The captions sampled below are
    # encoded up front: on colab-t4 the text encoder is freed before G loads.
    pairs = [p for p in tw.contrast_pairs() if p.name in PAIRS]
    texts = [tw.caption(tw.random_attributes(i)) for i in range(tier.clips)]
    pair_captions = {p.name: tw.toy_captions(p, tier.concept_samples_per_pair, seed=k) for k, p in enumerate(pairs)}
    vlm, gen, coupling, bank = prepare_real_models(tier, texts, pairs, pair_captions,
                                                   extra_captions=list(captions.values()))


def reads(video, caption, pairs):
    """P(target) renormalised over each pair's two words, read by the VLM from the video's pixels."""
    with torch.no_grad():
        tokens = vlm.visual_tokens(video)
    out = {}
    for name in pairs:
        spec = bank.spec(name)
        out[name] = float(vlm.token_probs(tokens, slot_prefix(spec, caption), [spec.source, spec.target])
                          .renormalised[0, 1])
    return out


# %% [markdown]
# ## 2. Scene sweeps
# Through Φ (`probs`, read with the unsteered caption's condition) and from the pixels, with the measured scene.

# %%
for pair, caption in captions.items():
    result = sweep(gen, caption, pair, PHIS, concepts=bank, seed=SEED, vlm=vlm, coupling=coupling)
    print(pair)
    for phi, video, p_phi in zip(result.phis, result.videos, result.target_probability()):
        print(f"  φ = {phi:3.1f}  P(target) via Φ {p_phi:.3f}, from pixels {reads(video, caption, [pair])[pair]:.3f}"
              f"  measured scene: {measured_attributes(video)['scene']}")
    display(sweep_grid(dict(zip(result.phis, result.videos)), frames=[0, 4, 8], scale=3, title=pair)[0])

# %% [markdown]
# ## 3. Two concepts at once
# π⁻ + φ_colour·q_red→blue + φ_scene·q_desert→snow on a 3 × 3 grid of strengths, one seed. Each cell is the middle
# frame, titled with what the toy world measures. `steer` warns about the φ = 0.5 cells: both concepts' measured
# strength ranges hold φ = 1 alone (docs/steering.md has every pair's), and half strength is where they fail most.

# %%
caption = captions["desert->snow"]
fig, axes = new_figure(len(PHIS), len(PHIS), cell=1.3)
grid = {}
for i, phi_colour in enumerate(PHIS):
    for j, phi_scene in enumerate(PHIS):
        video = steer(gen, caption, {"red->blue": phi_colour, "desert->snow": phi_scene}, concepts=bank,
                      seed=SEED).video
        grid[phi_colour, phi_scene] = video
        m = measured_attributes(video)
        ax = axes[i][j]
        ax.imshow(video[4])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("no object" if m["colour"] is None else f"{m['colour']}, {m['scene']}", fontsize=8)
        if j == 0:
            ax.set_ylabel(f"φ_colour={phi_colour:g}", fontsize=8)
        if i == len(PHIS) - 1:
            ax.set_xlabel(f"φ_scene={phi_scene:g}", fontsize=8)
fig.suptitle("red->blue × desert->snow", fontsize=10)
fig

# %%
both = grid[1.0, 1.0]
print("both at φ = 1 — VLM caption:", vlm.caption(both))
both_reads = reads(both, caption, ["red->blue", "desert->snow"])
print("                 pixel reads:", {k: round(v, 3) for k, v in both_reads.items()})

# %% [markdown]
# Halfway strengths are not halfway videos: at φ_colour = 0.5 the object can vanish (no colour is "half red, half
# blue" to this generator), which the measurement reports as "no object". The VLM's reading is a threshold; the
# generator's rendering is another.

# %% [markdown]
# ## 4. Timestep windows
# The same two concepts, injected only in the first, middle or last part of the 25 sampling steps (before and after
# the window the sampler uses π⁻).

# %%
windows = {"every step": None, "first 30 %": (0.0, 0.3), "middle 40 %": (0.3, 0.7), "last 30 %": (0.7, 1.0)}
window_videos = {}
for name, window in windows.items():
    video = steer(gen, caption, {"red->blue": 1.0, "desert->snow": 1.0}, concepts=bank, seed=SEED,
                  window=window).video
    window_videos[name] = video
    m = measured_attributes(video)
    p = reads(video, caption, ["red->blue", "desert->snow"])
    print(f"{name:11s} measured colour {m['colour']!s:7s} scene {m['scene']!s:7s}  "
          f"P(blue) {p['red->blue']:.2f}  P(snow) {p['desert->snow']:.2f}")
show_videos(window_videos)

# %% [markdown]
# On this generator an edit injected only early is *undone*: the remaining steps, conditioned on π⁻ again, pull the
# sample back to the desert and the red object. An edit in the last steps sticks, because nothing comes after it —
# and it can land in between (here the object may end up neither red nor blue). With real generators the balance
# differs with the scheduler and the number of steps; this cell is the quick way to find it.

# %% [markdown]
# ## 5. Frame masks
# `frame_mask` takes one boolean per video frame (or per latent frame). The toy generator's VAE compresses 9 video
# frames into 3 latent frames (1 + 4 + 4), so the mask acts on whole latent frames: a latent frame is steered when any
# of its video frames is. Here only the last four frames are steered towards snow; the first five are the unsteered
# video's own frames. φ = 1.5 is outside desert → snow's measured strength range (`bank.strength_range`), so `steer`
# warns: at that strength other attributes change in some seeds. We use it on purpose, to make the snow obvious.

# %%
mask = [False] * 5 + [True] * 4
masked = steer(gen, caption, {"desert->snow": 1.5}, concepts=bank, seed=SEED, frame_mask=mask)
print("steered latent frames:", masked.frame_mask)
plain = gen.generate(caption, seed=SEED)
fig, _ = contact_sheet({"unsteered": plain, "last frames steered": masked.video}, scale=2)
display(fig)
per_frame = [reads(np.repeat(masked.video[k:k + 1], 9, axis=0), caption, ["desert->snow"])["desert->snow"]
             for k in range(9)]
print("P(snow) of each frame held still:", [round(p, 2) for p in per_frame])
# Only the frames of the steered latent frame turn to snow; the first frames follow the unsteered trajectory exactly.

# %% [markdown]
# ### Exercise 1 · from video frames to latent frames
# A frame mask acts on latent frames. Wan's causal VAE (and the toy generator's) encodes T = 4(F − 1) + 1 video
# frames into F latent frames: frame 0 alone into latent frame 0, then frames 4f − 3 … 4f into latent frame f. A
# latent frame is steered when any of its video frames is. Write `latent_frames(frame_mask, count)`: T
# booleans → F = `count` booleans (above, 9 frames → 3: `masked.frame_mask`).
#
# <details><summary>Hint</summary>
#
# Treat latent frame 0 on its own; for f ≥ 1 slice `frame_mask[4 * f - 3 : 4 * f + 1]`.
#
# </details>
# <details><summary>Solution</summary>
#
# ```python
# import numpy as np
#
#
# def latent_frames(frame_mask, count):
#     mask = np.asarray(frame_mask, dtype=bool)
#     return np.array([mask[0]] + [mask[4 * f - 3:4 * f + 1].any() for f in range(1, count)])
# ```
#
# </details>

# %%
from l2vkit import labs


def latent_frames(frame_mask, count):
    """T = 4(F − 1) + 1 video-frame booleans → F latent-frame booleans (steer when any of its frames is)."""
    raise NotImplementedError  # replace with your code


labs.check_latent_frames(latent_frames);

# %% [markdown]
# ## What to try next
# - Compose three concepts (`red->blue`, `circle->square`, `desert->snow`) and check which ones interfere.
# - Find the latest window start at which `desert->snow` still changes the measured scene.
# - Mask the *first* frames instead: can the scene change backwards in time?
# - Next notebook: `07_metrics_and_plots` — the paper's tables and figures with baselines.
