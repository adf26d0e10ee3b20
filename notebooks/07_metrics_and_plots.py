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
# - read model-based metrics (Fréchet distance, alignment Δ, caption metrics) where no ground truth exists;
# - check whether a steered video shows what the VLM means, with a VLM that has a planted shortcut (section 5).
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
FAST = fast_mode()  # fast lab mode ($L2VKIT_FAST=1, or write True): half the seeds, videos and choice captions
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

# %% [markdown]
# ## 5. Whose notion is it? A VLM with a planted shortcut
# Criterion (v): does the video show what the *VLM* means? L2V fits q to the generator's own velocity difference Δv
# and the VLM only weighs it (Δω), so a steered video may show the generator's notion of the word instead. The toy
# world settles this with a VLM whose notion is known to be wrong: the shipped *shortcut VLM* was trained on captions
# where *square* came with snowy scenes, and reads "square" off a snowy circle at P = 0.96 (docs/sanity-checks.md).
#
# One table for the shortcut pair `circle->square` at φ = 1, on held-out seeds whose caption names no snow, with
# each VLM: L2V as in the paper, unweighted Δv, LEAPS-style, and **VLM-chosen edits** (`l2vkit.edit_choice`: each
# edit the generator can make — the pair's own concept, and a swap of another slot's word — is kept when, alone, it
# turns the VLM's reading of the decoded pixels to the target word in at least half the videos it did not read so
# before, and raises its log-odds). Columns: flip;
# whether snow appears; kept (every other attribute as unsteered); P(target) read through Φ and from the pixels
# (closed loop); and the share of seeds where those two readings name different words (Φ fooled).
#
# Here L2V uses the shipped bank (trained with the clean VLM) in both rows and the edits are chosen among the scene
# edits only, to stay quick; `python -m l2vkit.toyworld.shortcut_eval --seeds 50` trains L2V with the shortcut VLM
# too, chooses among every slot, and adds the randomisation verdicts.

# %%
if TOY:
    from l2vkit.concepts.network import ConceptNetwork
    from l2vkit.concepts.resolve import ConceptsWithNetwork
    from l2vkit.edit_choice import choose_edits
    from l2vkit.toyworld import shortcut_eval
    from l2vkit.toyworld.shortcut import load_shortcut_coupling, load_shortcut_vlm, planted_shortcut
    from l2vkit.vlm.randomise import randomised

    shortcut_vlm = load_shortcut_vlm()
    shortcut = planted_shortcut(shortcut_vlm)  # square = snow, as recorded with the VLM
    square = shortcut_eval.shortcut_pair(tw.contrast_pairs(), shortcut)
    network = ConceptNetwork.load(data_dir() / "toy_concept_network.safetensors", generator=gen)
    concepts = ConceptsWithNetwork(bank, network, gen)
    no_snow = [c for c in toy_captions(square, 12, seed=SEED) if "snow" not in c]
    choice = {square.name: no_snow[: 4 if FAST else 8]}
    held_out = shortcut_eval.seeds_without_value(square, shortcut, len(SEEDS))
    readers = {"clean VLM": (vlm, coupling),
               "shortcut VLM": (shortcut_vlm, load_shortcut_coupling(vlm=shortcut_vlm, generator=gen))}
    sanity_rows, chosen_by = [], {}
    for label, (reader, phi_reader) in readers.items():
        chosen = chosen_by[label] = choose_edits(gen, reader, concepts, [square], choice, slots=["scene"],
                                                 progress=False)
        print(f"{label} chooses:", ", ".join(e.label for e in chosen.chosen(square.name)) or "nothing")
        result = steering_eval.evaluate_pair(gen, reader, phi_reader, bank, square.name, held_out,
                                             unweighted=unweighted, compare={"vlm_chosen": chosen})
        found = steering_eval.scores(result)
        for key, method in shortcut_eval.METHODS + shortcut_eval.VLM_METHODS[:1]:
            if key in found:
                m = found[key]
                snow = shortcut_eval.planted_rate(result, "phi=1" if key == "steered" else key, shortcut)
                sanity_rows.append({"VLM": label, "method": method, "flip ↑": m["flip"], "snow appears": snow,
                                    "kept ↑": m["preserved"], "P via Φ": m["target_prob"],
                                    "P from pixels": m["target_prob_pixels"], "disagree ↓": m["readings_disagree"]})
    fig, _ = table_figure(sanity_rows, list(sanity_rows[0]), f"{square.name} at φ = 1 with a clean and a shortcut "
                          f"VLM ({len(held_out)} seeds)", fmt="{:.2f}",
                          caption="kept: every attribute but the shape as unsteered (snow counts against it)")
    # the randomisation check for the chosen edits: a VLM that knows nothing chooses nothing it does not read
    random_choice = choose_edits(gen, randomised(vlm), concepts, [square], choice, slots=["scene"],
                                 progress=False)
    print("a randomised VLM chooses:", ", ".join(e.label for e in random_choice.chosen(square.name)) or "nothing")
else:
    fig = None
    print("the shortcut VLM is a toy-world model: this section runs with TIER = 'toy'")
fig

# %%
# what the text below says, checked
if TOY:
    row = {(r["VLM"], r["method"]): r for r in sanity_rows}
    assert [e.value for e in chosen_by["clean VLM"].chosen(square.name)] == ["square"]
    assert [e.value for e in chosen_by["shortcut VLM"].chosen(square.name)] == ["square", "snow"]
    assert all(row[vlm_label, m]["snow appears"] == 0 for vlm_label in readers
               for m in ("L2V (paper)", "unweighted Δv") if (vlm_label, m) in row)
    assert row["clean VLM", "VLM-chosen edits"]["snow appears"] == 0
    assert row["shortcut VLM", "VLM-chosen edits"]["snow appears"] >= 0.5
    assert all(row[vlm_label, "LEAPS-style"]["P via Φ"] > row[vlm_label, "LEAPS-style"]["P from pixels"]
               for vlm_label in readers)

# %% [markdown]
# **Reading the table.** The clean VLM chooses the pair's own edit only; the shortcut VLM chooses snow as well. L2V
# and the unweighted direction show no snow with either VLM, although the shortcut VLM calls a snowy circle square:
# their direction is the generator's, so the video cannot show what the VLM uses. LEAPS-style latents read higher
# through Φ than from the pixels: they fool the reader, not the VLM. The VLM-chosen edits make snow appear only with
# the shortcut VLM — the video now shows the shortcut (and "kept" falls, as it should: the scene changed). On 50
# seeds, with every slot's edits and the randomisation verdicts: docs/sanity-checks.md.
#
# ## What to try next
# - Run the benchmark: `python -m l2vkit.toyworld.steering_eval --seeds 50` (minutes) and plot its JSON with
#   `table_figure`.
# - Train the unweighted baseline (`--divergence none`, see above) and rerun section 2 to get its rows.
# - Swap `vlm_pooled_features` for `l2vkit.metrics.pixel_features` in section 4: which metric still ranks the methods?
# - In section 5, choose among every slot (`slots=None`) and look at what each VLM's `chosen.table()` scores.
# - Next notebook: `08_interactive_logit_editor`.
