# %% [markdown]
# # 07 · Metrics and plots: the paper's tables and figures, with baselines
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/07_metrics_and_plots.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** On the toy world (default) this runs on a CPU in about a minute with few seeds; the full benchmark is
# `python -m l2vkit.toyworld.steering_eval --seeds 50`. With real models use a GPU runtime; the ground-truth columns
# then disappear (nothing measures a real video's attributes) and the model-based metrics remain.
#
# A steered video should (i) show the target word, (ii) change nothing else, (iii) change more as φ grows, (iv) still
# look like a video of the world, and (v) be what the *VLM* means, not what the generator happens to do. The toy world
# measures (i)–(iii) directly; the paper's model-based metrics — Fréchet distance of video features (FVD-style),
# embedding similarity to real videos, the directional Δ of text–video alignment, caption metrics of the VLM's own
# captions — stand in for them on real data. Here both sit side by side, for L2V and three baselines:
#
# - **prompt swap**: sample π⁺ itself (what the generator does with the target word);
# - **unweighted Δv**: a concept trained with Δω ≡ 1 (no VLM in the loop), when its bank is available;
# - **LEAPS-style**: optimise the latent to raise the target word's probability read through Φ and the VLM
#   (activation maximisation, with a smoothness prior).
#
# **Learning objectives.** After this notebook you can
# - score steering and three baselines by ground truth (flip, preservation) per concept family;
# - compute the monotonicity column, Spearman's ρ over φ (exercise 1), and plot curves over φ;
# - read model-based metrics (Fréchet distance, alignment Δ, caption metrics) where no ground truth exists.
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
PAIRS = ("red->blue", "slowly->quickly", "desert->snow")  # one per family: attribute, action, scene
FAST = fast_mode()  # fast lab mode ($L2VKIT_FAST=1, or write True): half the seeds and videos
SEEDS = range(2 if FAST else 4)  # ground-truth seeds per pair (the benchmark uses 50)
VIDEOS = 4 if FAST else 8  # videos per method for the model-based metrics

# %% [markdown]
# ## 1. Models, coupling Φ and the concept bank

# %%
# %matplotlib inline
import warnings

import numpy as np
import torch
from IPython.display import Markdown, display

from l2vkit import toyworld as tw
from l2vkit.concepts import ConceptBank, swap_word
from l2vkit.metrics import (MetricWarning, caption_metrics, directional_delta, embedding_similarity,
                            frechet_distance, vlm_pooled_features)
from l2vkit.metrics.backends import LABELS
from l2vkit.paths import data_dir
from l2vkit.plots import curves_over_phi, curves_over_phi_plotly, new_figure, table_figure
from l2vkit.toyworld import steering_eval, toy_captions
from l2vkit.toyworld.alignment import fit_toy_alignment_map, toy_alignment_encoders
from l2vkit.video import show_videos
from l2vkit.tiers import get_tier
from l2vkit.workflow import load_generator, load_vlm, prepare_real_models

tier = get_tier(TIER)
TOY = tier.is_toy
if TOY:
    vlm, gen = load_vlm(tier), load_generator(tier)
    coupling = tw.load_coupling(vlm=vlm, generator=gen)  # fitted by python -m l2vkit.toyworld.train_coupling
    bank = tw.load_concepts(generator=gen)  # trained by python -m l2vkit.toyworld.train_concepts
else:
    # Real models (GPU): l2vkit.workflow runs every stage in the tier's order and sizes (captions encoded once,
    # a small Φ fitted on clips the generator makes itself as in notebook 03, the concepts trained) and saves
    # each under outputs/real/ so that a rerun picks up where it stopped. The captions sampled below are
    # encoded up front: on colab-t4 the text encoder is freed before G loads.
    pairs = [p for p in tw.contrast_pairs() if p.name in PAIRS]
    scene = next(p for p in pairs if p.name == "desert->snow")  # section 3's pair, its captions and swaps
    metric_captions = [toy_captions(scene, 1, seed=30_000 + i)[0] for i in range(VIDEOS)]
    metric_captions += [swap_word(scene, c) for c in metric_captions]
    texts = [tw.caption(tw.random_attributes(i)) for i in range(tier.clips)]
    pair_captions = {p.name: tw.toy_captions(p, tier.concept_samples_per_pair, seed=k) for k, p in enumerate(pairs)}
    extra = [*steering_eval.evaluation_captions(pairs, SEEDS), *metric_captions]
    vlm, gen, coupling, bank = prepare_real_models(tier, texts, pairs, pair_captions, extra_captions=extra)
unweighted_path = data_dir() / "toy_concepts_unweighted.safetensors"
unweighted = ConceptBank.load(unweighted_path, generator=gen) if TOY and unweighted_path.exists() else None
print("unweighted-Δv baseline:", "loaded" if unweighted else "not available (train it with "
      "`python -m l2vkit.toyworld.train_concepts --divergence none --out data/toy_concepts_unweighted.safetensors`)")

# %% [markdown]
# ## 2. Ground truth, per family, with baselines
# For each pair and seed: a random caption with the source word; every method starts from the same noise; every
# video is measured. *flip*: the slot shows the target word; *flip where swap renders*: the same, only on seeds where
# the prompt swap itself succeeds (steering cannot beat the generator's own vocabulary); *preserved*: every other
# attribute equals the unsteered video's; *P(target) via Φ*: the VLM's probability of the target word read through Φ.

# %%
results, rows = {}, {}
for pair in PAIRS:
    results[pair] = steering_eval.evaluate_pair(gen, vlm, coupling, bank, pair, SEEDS, unweighted=unweighted,
                                                leaps=True)
    rows[pair] = {"family": results[pair]["family"], **steering_eval.scores(results[pair])}
display(Markdown(steering_eval.format_tables(rows)))

# %%
methods = [("steered", "L2V (φ = 1)"), ("prompt_swap", "prompt swap"), ("unweighted", "unweighted Δv"),
           ("leaps", "LEAPS-style")]
table = [{"pair": pair, "method": label, "flip ↑": r[key]["flip"], "preserved ↑": r[key]["preserved"],
          "P(target) via Φ": r[key]["target_prob"]}
         for pair, r in rows.items() for key, label in methods if key in r]
fig, _ = table_figure(table, list(table[0]), f"Steering vs baselines on {len(SEEDS)} seeds per pair (toy ground truth)",
                      fmt="{:.2f}", caption="flip / preserved: measured from pixels; P(target): the VLM through Φ")
fig

# %% [markdown]
# Read the LEAPS rows against the flip column: optimising the latent against Φ and the VLM drives P(target) to ~1
# while the measured video does not change — an adversarial example for the reader, not a video of the concept. This
# is the failure mode the ground truth is there to catch, and the reason L2V trains a direction in the *generator's*
# condition space instead of editing latents directly.

# %% [markdown]
# ## 3. Curves over φ
# The flip rate at every φ of the sweep, per pair, and the same as an interactive plotly figure (hover for values).

# %%
phis = list(steering_eval.PHIS)
flip_curves = {pair: [rows[pair]["flip_by_phi"][f"phi={p:g}"] for p in phis] for pair in PAIRS}
prob_curves = {pair: np.array([results[pair]["target_prob"][f"phi={p:g}"] for p in phis]).T for pair in PAIRS}
fig, axes = new_figure(1, 2, cell=2.6, aspect=1.5)
curves_over_phi(phis, flip_curves, ax=axes[0][0], ylabel=f"flip rate ({len(SEEDS)} seeds)", ylim=(-0.03, 1.03),
                title="measured")
curves_over_phi(phis, prob_curves, ax=axes[0][1], ylabel="P(target) via Φ", ylim=(-0.03, 1.03),
                title="read by the VLM through Φ (mean ± std)")
fig

# %%
curves_over_phi_plotly(phis, flip_curves, ylabel="flip rate", title="flip rate over φ", ylim=(-0.03, 1.03))

# %% [markdown]
# ### Exercise 1 · monotonicity: Spearman's ρ
# The tables' *monotonicity* is Spearman's ρ between φ and a seed's series (e.g. P(target) at each φ), averaged
# over seeds. Write `spearman(phis, values)` for one series: Pearson's correlation of the ranks, tied values
# sharing their average rank, and `nan` for a constant series (the library leaves such seeds out of the mean).
#
# <details><summary>Hint</summary>
#
# `scipy.stats.rankdata` averages ties; `numpy.corrcoef` correlates. Why not correlate the raw values?
#
# </details>
# <details><summary>Solution</summary>
#
# ```python
# import numpy as np
# from scipy.stats import rankdata
#
#
# def spearman(phis, values):
#     if np.ptp(values) == 0:
#         return float("nan")
#     return float(np.corrcoef(rankdata(phis), rankdata(values))[0, 1])
# ```
#
# </details>

# %%
from l2vkit import labs


def spearman(phis, values):
    """Spearman's ρ between φ and one series; nan when the series is constant."""
    raise NotImplementedError  # replace with your code


labs.check_spearman(spearman);

# %% [markdown]
# ## 4. Model-based metrics
# The metrics a real-model study has to rely on, for one pair (`desert->snow`), `VIDEOS` captions, four sets of
# videos: unsteered (π⁻), L2V at φ = 1, the prompt swap (π⁺), and as the "real" reference set the toy renderer's
# videos of the π⁺ captions.
#
# - **Fréchet distance** of the VLM's pooled visual features ("FVD (toy VLM features)": a stand-in for FVD on
#   VideoMAE or I3D features, which `l2vkit.metrics.backends` offers on a GPU; lower = closer to the reference set);
# - **embedding similarity** of mean features to the reference set (cosine ↑, l2 ↓);
# - **directional Δ** = cos(video, π⁺) − cos(video, π⁻) in a shared text–video space (MiniLM text embeddings and a
#   ridge map from the VLM's features, fitted on toy renders; > 0 means the video moved towards π⁺);
# - **caption metrics** of the VLM's greedy captions against the π⁺ captions (BLEU-4, CIDEr-D, METEOR).

# %%
pair = "desert->snow"
spec = bank.spec(pair)
captions = [toy_captions(spec, 1, seed=30_000 + i)[0] for i in range(VIDEOS)]
swapped = [swap_word(spec, c) for c in captions]
base = gen.encode_prompt(captions)
sets = {
    "unsteered (π⁻)": gen.sample(base, seed=SEED, output="frames").frames,
    "L2V φ = 1": gen.sample(base.with_embeds(base.embeds + bank[pair]), seed=SEED, output="frames").frames,
    "prompt swap (π⁺)": gen.sample(gen.encode_prompt(swapped), seed=SEED, output="frames").frames,
}
reference = np.stack([tw.render(tw.parse_caption(c), seed=i) for i, c in enumerate(swapped)])
show_videos({name: videos[0] for name, videos in sets.items()} | {"reference render": reference[0]})

# the offline stand-ins, labelled as such (l2vkit.metrics.backends.LABELS; the "paper" tier has VideoMAE and CLIP)
FVD, DIRECTION = LABELS["toy"]["fvd"] + " ↓", "Δ dir (toy stand-in) ↑"
features = vlm_pooled_features(vlm)
text_encoder, video_encoder = toy_alignment_encoders(vlm, fit_toy_alignment_map(vlm, count=300, seed=SEED))
text_minus, text_plus = text_encoder(captions), text_encoder(swapped)
ref_features = features(reference)
metric_rows = []
for name, videos in sets.items():
    f = features(videos)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetricWarning)  # 8 samples < 128 dims: fine for ranking, not for reporting
        fd = frechet_distance(f, ref_features)
        hyps = vlm.caption(videos)
        caps = caption_metrics(hyps, swapped)
    sims = embedding_similarity(f, ref_features)
    delta = directional_delta(video_encoder(videos), text_minus, text_plus)
    metric_rows.append({"videos": name, FVD: fd, "cos ↑": sims["cosine"], "l2 ↓": sims["l2"],
                        DIRECTION: float(delta.mean()), "BLEU-4 ↑": caps["BLEU-4"], "CIDEr-D ↑": caps["CIDEr-D"],
                        "METEOR ↑": caps["METEOR"]})
fig, _ = table_figure(metric_rows, list(metric_rows[0]), f"{pair}: model-based metrics ({VIDEOS} videos each)",
                      best={FVD: "min", "cos ↑": "max", "l2 ↓": "min", DIRECTION: "max", "BLEU-4 ↑": "max",
                            "CIDEr-D ↑": "max", "METEOR ↑": "max"}, fmt="{:.3f}")
fig

# %% [markdown]
# **Reading the metrics.** On this pair L2V should sit next to the prompt swap and far from the unsteered videos on
# every column: closer to the reference set, a positive directional Δ, and VLM captions that name the target scene.
# With eight videos the Fréchet distance is dominated by noise (fewer samples than feature dimensions) — use it to
# rank, and raise `VIDEOS` before quoting numbers. Where the toy world's ground truth and a model-based metric
# disagree, trust the ground truth and ask why the metric was fooled.
#
# ## What to try next
# - Run the benchmark: `python -m l2vkit.toyworld.steering_eval --seeds 50` (minutes) and plot its JSON with
#   `table_figure`.
# - Train the unweighted baseline (`--divergence none`, see above) and rerun section 2 to get its rows.
# - Swap `vlm_pooled_features` for `l2vkit.metrics.pixel_features` in section 4: which metric still ranks the methods?
# - Next notebook: `08_interactive_logit_editor`.
