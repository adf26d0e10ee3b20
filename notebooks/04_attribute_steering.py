# %% [markdown]
# # 04 · Attribute steering: colour, shape, size
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/04_attribute_steering.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** On the toy world (default) this runs on a CPU in under a minute with the shipped coupling and concept
# bank. With real models (`TIER = "colab-t4"`) use a GPU runtime: the notebook then fits a small coupling and trains the
# three concepts it uses first, in the stages and sizes `l2vkit plan --tier colab-t4` shows (tens of minutes on a T4).
#
# A **contrast pair** o = (π⁻, π⁺) edits one word of a caption: `red → blue`. Its **concept vector** q_o is a direction
# in the generator's condition space Ξ, trained with the generator G, the coupling Φ and the VLM frozen so that
# G(z_t, π⁻ + Δω·q_o, t) matches G(z_t, π⁻, t) + Δω·Δv: the velocity change the caption edit asks for (Δv), weighted
# by how much the VLM's reading of the slot changes (Δω, a Hellinger distance in [0, 1] between its readings of x̂0
# on the π⁻ and the π⁺ trajectory from the same noise; Lab A).
#
# **Steering** samples with the condition π⁻ + φ·q_o: φ is the strength of the desired logit change (φ = 0 gives
# exactly the unsteered video). Here we sweep φ for the three object-attribute pairs, look at the videos, read them
# back with the VLM, and score them against the toy world's ground truth: did the slot change, and *only* the slot?
#
# **Learning objectives.** After this notebook you can
# - steer a caption with π⁻ + φ·q_o (exercise 1) and sweep φ for colour, shape and size;
# - read steered videos back with the VLM and compare its reading with what the pixels show;
# - score steering against ground truth (flip, preservation, monotonicity) and say what "preserved" does not cover.
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
PAIRS = ("red->blue", "circle->square", "small->large")
PHIS = (0.0, 0.25, 0.5, 0.75, 1.0)
FAST = fast_mode()  # fast lab mode ($L2VKIT_FAST=1, or write True): 2 ground-truth seeds instead of 4
SEEDS = range(2 if FAST else 4)  # ground-truth seeds per pair (the benchmark in l2vkit.toyworld.steering_eval uses 50)

# %% [markdown]
# ## 1. Models, coupling Φ and the concept bank

# %%
# %matplotlib inline
import numpy as np
import torch
from IPython.display import Markdown, display

from l2vkit import steer, sweep
from l2vkit import toyworld as tw
from l2vkit.concepts import slot_prefix
from l2vkit.toyworld.ground_truth import ground_truth_scores
from l2vkit.plots import curves_over_phi, new_figure, sweep_grid, table_figure
from l2vkit.toyworld.steering_eval import evaluate_pair, evaluation_captions, measured_attributes
from l2vkit.video import show_videos
from l2vkit.tiers import get_tier
from l2vkit.workflow import load_generator, load_vlm, prepare_real_models

tier = get_tier(TIER)
caption = "a small red circle moves slowly up in the desert"  # sections 2 and 3
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
                                                   extra_captions=[caption, *evaluation_captions(pairs, SEEDS)])

print("concepts:", ", ".join(bank.pairs))
print("q shape:", tuple(bank[PAIRS[0]].shape), "= the shape of π_Ξ (tokens × width)")
print("‖q‖:", {name: round(float(bank[name].norm()), 2) for name in PAIRS})

# %% [markdown]
# ### Exercise 1 · the steered condition
# Steering samples with the condition π⁻ + φ·q_o. `base` holds the caption's condition embeddings (B, L, E) and
# `q` a trained concept vector (L, E) — `bank["red->blue"]`. Write `steered(base, q, phi)` (what
# `l2vkit.steering.steered_condition` does for one concept).
#
# <details><summary>Hint</summary>
#
# Only the concept is scaled. Broadcasting adds q to every caption of the batch. Should q be normalised?
#
# </details>
# <details><summary>Solution</summary>
#
# ```python
# def steered(base, q, phi):
#     return base + phi * q
# ```
#
# </details>

# %%
from l2vkit import labs


def steered(base, q, phi):
    """π⁻ (B, L, E), a concept vector q (L, E) and a strength φ → the steered condition."""
    raise NotImplementedError  # replace with your code


labs.check_steered_condition(steered);

# %% [markdown]
# ## 2. A colour sweep
# `l2vkit.sweep` samples the same caption and noise at every φ. With `vlm` and `coupling` it also reads each final
# latent back through Φ (fast, no decode); we add the VLM's reading of the decoded pixels, and the measurement
# (`measured_attributes` gives `None` values where no object can be found — steering can break a video, too).

# %%
def read_pixels(videos, pair):
    """P(target) renormalised over the pair's two words, read by the VLM from the videos' own tokens."""
    spec = bank.spec(pair)
    with torch.no_grad():
        probs = vlm.token_probs(vlm.visual_tokens(np.asarray(videos)), slot_prefix(spec, caption),
                                [spec.source, spec.target]).renormalised[:, 1]
    return probs.float().tolist()


result = sweep(gen, caption, "red->blue", PHIS, concepts=bank, seed=SEED, vlm=vlm, coupling=coupling)
pixels = read_pixels(result.videos, "red->blue")
for phi, p_phi, p_pix, video in zip(result.phis, result.target_probability(), pixels, result.videos):
    print(f"φ = {phi:4.2f}   P(blue) via Φ {p_phi:.3f}   from pixels {p_pix:.3f}   "
          f"measured colour: {measured_attributes(video)['colour']}")
result.show()

# %% [markdown]
# The VLM reading the pixels follows the colour change, and so does the measurement — and so does the fast Φ
# reading, although it is read with the *unsteered* caption's condition π⁻ (so that only the latent can carry the
# change). That works because Φ_Ω1 was trained with half of its samples given another video's π: a Φ that could
# lean on the caption would keep saying "red". l2vkit still keeps both readings and the ground truth: a reading
# through a learned map is a model of the VLM, not the VLM.

# %% [markdown]
# ## 3. Shape and size
# `sweep_grid` shows a sweep as frames: one row per φ, first, middle and last frame.

# %%
sweeps, ahead = {}, {}
for pair in PAIRS[1:]:
    spec = bank.spec(pair)
    sweeps[pair] = sweep(gen, caption, pair, PHIS, concepts=bank, seed=SEED)
    measured = [measured_attributes(v)[spec.slot] for v in sweeps[pair].videos]
    read = read_pixels(sweeps[pair].videos, pair)
    print(f"{pair:15s} measured {spec.slot} over φ: {measured}   P({spec.target}) from pixels: "
          f"{[round(p, 2) for p in read]}")
    # strengths at which the VLM already leans to the target word while the measurement still says the source
    ahead[pair] = [phi for phi, m, p in zip(PHIS, measured, read) if m == spec.source and p > 0.3]
print("the VLM ahead of the measurement at φ =", ahead)
figs = [sweep_grid(dict(zip(s.phis, s.videos)), frames=[0, 4, 8], scale=3, title=pair)[0]
        for pair, s in sweeps.items()]
display(*figs)

# %%
if tier.is_toy:  # the claim of "Reading the table" below about section 3, checked
    assert ahead["circle->square"], "the VLM no longer reads square before the measured shape changes; fix the text"

# %% [markdown]
# ## 4. Ground truth over seeds
# One sweep is an anecdote. `evaluate_pair` samples one random caption per seed (the pair's source word in its slot,
# everything else random), steers it at every φ and with the prompt swap (sampling π⁺ itself), and measures every
# video. `ground_truth_scores` turns the measurements into the flip rate (the slot shows the target word),
# the preservation rate (every other attribute unchanged) and the monotonicity over φ.

# %%
def as_attributes(measured, captions):
    """Measured dicts → Attributes; a video where no object is found counts as unchanged (its caption's)."""
    return [tw.Attributes(**m) if None not in m.values() else tw.parse_caption(c) for m, c in zip(measured, captions)]


scores, swap_flip = {}, {}
for pair in PAIRS:
    res = evaluate_pair(gen, vlm, coupling, bank, pair, SEEDS, leaps=False)
    source = as_attributes(res["measured"]["phi=0"], res["captions"])
    by_phi = {phi: as_attributes(res["measured"][f"phi={phi:g}"], res["captions"]) for phi in PHIS}
    scores[pair] = ground_truth_scores(source, res["slot"], res["target"], by_phi)
    swap_flip[pair] = np.mean([m[res["slot"]] == res["target"] for m in res["measured"]["prompt_swap"]])

fig, axes = new_figure(1, len(PAIRS), cell=2.6, aspect=1.3)
for ax, (pair, s) in zip(axes[0], scores.items()):
    curves_over_phi(s.phis, {"flip rate": s.flip_rate, "preservation": s.preservation_rate}, ax=ax,
                    ylim=(-0.03, 1.03), title=pair)
axes[0][0].set_ylabel(f"share of {len(SEEDS)} seeds")
fig

# %%
def drift(s):
    """The non-target attribute that steering changes most often at the largest φ."""
    others = {f: acc[-1] for f, acc in s.accuracy.items() if f != s.slot}
    worst = min(others, key=others.get)
    return f"{worst} ({100 * (1 - others[worst]):.0f}%)" if others[worst] < 1 else "–"


rows = [{"pair": pair, "flip @ φ=1 ↑": s.flip_rate[-1], "preserved @ φ=1 ↑": s.preservation_rate[-1],
         "monotonicity ↑": s.monotonicity, "prompt swap flip": swap_flip[pair], "drifts most": drift(s)}
        for pair, s in scores.items()]
fig, _ = table_figure(rows, list(rows[0]), f"Attribute steering on {len(SEEDS)} seeds (toy ground truth)",
                      best={"flip @ φ=1 ↑": "max", "preserved @ φ=1 ↑": "max"}, fmt="{:.2f}")
fig

# %% [markdown]
# **Reading the table.** The prompt-swap column is the generator's own ceiling: steering cannot render a word the
# generator cannot. A concept that flips the slot but lowers preservation has learnt a correlate of the word, or
# pushes the sample off the generator's usual trajectories so that other attributes (often the toy generator's
# fragile motion) drift — "drifts most" names the attribute. Note also section 3: for `circle->square` the VLM leans
# to *square* from the pixels (P ≈ 0.5) one step of φ before the measured shape stops being a circle. The concept
# moves what the VLM reads a little ahead of what is there — exactly the gap the toy world's ground truth exposes. Scale the
# seeds up (`SEEDS = range(50)`) before drawing conclusions: four seeds give steps of 25 %, so a table of 1.00s
# says little.
#
# **What "preserved" covers.** The six attributes of the caption, each measured: colour, shape, size, adverb,
# direction, scene. Where the object is, the scene's texture and the object's exact outline are not attributes, so
# a steered video may move or reshape the object and still count as preserved — watch the red → blue sweep above,
# where the object can fade half-way and reappear elsewhere. `tw.measure_details(video)` gives the continuous
# quantities (box side, travel, velocity, colour) when you want to look closer.
#
# ## What to try next
# - Negative φ: `sweep(gen, caption, "red->blue", [-1, -0.5, 0])` — what is "less blue than red" to this VLM?
# - Word order does not matter: `steer(gen, "in the desert, a small red circle moves slowly up", {"red->blue": 1})`
#   places q's rows on the words that play their part (docs/steering.md, "Captions in any word order").
# - Steer back from a caption with the target word: `{"blue->red": 1}` on "a small blue circle …" (the same as
#   `{"red->blue": -1}`). The toy bank was trained both ways; `bank.strength_range("red->blue")["back"]` gives the
#   measured range for going back.
# - A caption with neither of a pair's words raises a clear error: try
#   `steer(gen, "a small green …", {"red->blue": 1})`.
# - `steer(..., window=(0, 0.3))` applies q only in the first 30 % of the steps (notebook 06 explores windows).
# - Next notebook: `05_adverb_steering` — steering motion, slowly ↔ quickly.
