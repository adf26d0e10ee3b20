# %% [markdown]
# # Lab C · Design a contrast pair, train its concept, judge it by ground truth — exercises
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/tutorials/lab_c_new_concept_exercises.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** A CPU runs this lab in about a minute on the toy world (the default). With real models (set the ids in
# the config cell) use a GPU runtime: the lab then fits a small coupling Φ first, and the toy world's ground-truth
# measurement no longer applies (judge the videos by eye and by the VLM's reading instead).
#
# **The idea.** A contrast pair o = (π⁻, π⁺) is two captions that differ in one word slot — `yellow → red` in the
# colour slot, say. Its concept vector q_o lives in the generator's condition space Ξ and is trained with the
# generator G, the coupling Φ and the VLM frozen (docs/method.md):
#
# ‖ sg[ G(z_t, π⁻, t) + Δω·Δv ] − G(z_t, π⁻ + Δω·q_o, t) ‖²,
#
# so that sampling with π⁻ + φ·q_o moves the video the way the caption edit does, as far as the VLM can tell. The toy
# world lets us check the result against **ground truth**: every attribute of a generated video can be measured from
# its pixels, so we can count how often steering renders the target word (flip rate), how often it leaves every other
# attribute alone (preservation), and whether more φ means more change (monotonicity).
#
# **How the lab works.** It comes as two notebooks: `lab_c_new_concept_exercises.ipynb`, where you replace each
# `raise NotImplementedError` with your code and run the checker cell below it (it prints `PASS …`,
# `FAIL …: reason` or `not yet implemented`), and `lab_c_new_concept_solutions.ipynb` with the answers. Cells that
# need an unfinished exercise say so and skip.

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
# Config: the only cell to change. "toy" = the shipped toy checkpoints; Hugging Face ids need a GPU runtime.
from l2vkit.labs import fast_mode

VLM_ID = "toy"
GENERATOR_ID = "toy"
SEED = 0
FAST = fast_mode()  # fast lab mode ($L2VKIT_FAST=1, or write True): 3 seeds, not 6; 60 training steps, not 150
SEEDS = range(3 if FAST else 6)  # evaluation seeds (one random caption each); more seeds, tighter numbers
TRAIN_STEPS = 60 if FAST else 150  # training steps of your concept (exercise 2)

# %%
# %matplotlib inline
import numpy as np
import torch

from l2vkit import labs
from l2vkit import toyworld as tw
from l2vkit.concepts import build_concept_cache, swap_word, train_concepts
from l2vkit.generator import VideoGenerator
from l2vkit.pairs import ContrastPair
from l2vkit.toyworld import toy_captions
from l2vkit.toyworld.steering_eval import measured_attributes
from l2vkit.video import show_videos
from l2vkit.vlm import VideoVLM

vlm = VideoVLM.from_pretrained(VLM_ID)
gen = VideoGenerator.from_pretrained(GENERATOR_ID)
if VLM_ID == "toy" and GENERATOR_ID == "toy":
    coupling = tw.load_coupling(vlm=vlm, generator=gen)  # the shipped Φ (notebook 03 shows how it is fitted)
else:
    # Real models: fit a small Φ on clips the generator makes itself (notebook 03 explains the steps).
    from l2vkit.coupling import build_coupling_data, fit_coupling

    texts = [tw.caption(tw.random_attributes(i)) for i in range(32)]
    clips = np.stack([gen.generate(t, seed=i) for i, t in enumerate(texts)])
    coupling = fit_coupling(vlm, gen, build_coupling_data(vlm, gen, clips, texts), progress=True)
print("shipped pairs:", ", ".join(p.name for p in tw.contrast_pairs()))
print("toy vocabulary:", {slot: list(words) for slot, words in tw.ATTRIBUTE_VALUES.items()})

# %% [markdown]
# ## Exercise 1 · Design a new contrast pair
# Return a `ContrastPair(source, target, slot, family)` that is **not** among the shipped pairs above. Both words must
# be values of the same slot of the toy vocabulary, and the slot must belong to the family (`attribute`: colour, shape,
# size; `action`: adverb, direction; `scene`: scene). Pairs whose two words look very different (colours, scenes) are
# the easiest to learn.

# %%
def my_pair() -> ContrastPair:
    # YOUR CODE HERE
    raise NotImplementedError


pair = labs.attempt(my_pair)  # labs.NOT_DONE until the exercise is done
labs.check_contrast_pair(pair, vlm=vlm);

# %% [markdown]
# Before training anything, check that the generator can render the target word at all: sample four π⁻ captions and
# their π⁺ (prompt swap) from the same noise and measure both. If the prompt swap fails, no concept vector will do
# better — pick another pair.

# %%
if pair:
    captions = toy_captions(pair, 4, seed=SEED)
    minus = gen.sample(gen.encode_prompt(captions), seed=SEED, output="frames").frames
    plus = gen.sample(gen.encode_prompt([swap_word(pair, c) for c in captions]), seed=SEED, output="frames").frames
    for c, a, b in zip(captions, minus, plus):
        print(f"{c:55s} measured {pair.slot}: π⁻ {measured_attributes(a)[pair.slot]!s:8s} "
              f"π⁺ {measured_attributes(b)[pair.slot]}")
    show_videos({**{f"π⁻ {i}": v for i, v in enumerate(minus[:2])}, **{f"π⁺ {i}": v for i, v in enumerate(plus[:2])}})
else:
    print("finish exercise 1 first")

# %% [markdown]
# ## Exercise 2 · Train the concept vector
# Two library calls:
#
# 1. `build_concept_cache(gen, vlm, coupling, [pair], captions=toy_captions, samples_per_pair=8,
#    timesteps_per_sample=8, seed=SEED, progress=False)` samples π⁻ trajectories of random toy captions with the
#    source word and caches, at several steps of each, z_t, t, G(z_t, π⁻, t), Δv and Δω (Hellinger);
# 2. `train_concepts(gen, cache, [pair], steps=TRAIN_STEPS, lr=1e-2, batch_per_pair=16, seed=SEED,
#    progress=False)` then fits q_o by the loss above and returns a `ConceptBank`.
#
# These sizes (8 captions × 8 timesteps, 150 steps at lr 1e-2; 60 steps in the fast lab mode) train in well under a
# minute on a CPU; the shipped bank used 64 captions × 10 timesteps and 3,000 steps at lr 1e-3 with 8 samples per
# pair per step (its provenance: `toyworld.load_concepts().meta`).

# %%
def train_my_concept(pair: ContrastPair):
    # YOUR CODE HERE
    raise NotImplementedError


bank = labs.attempt(train_my_concept, pair)
labs.check_concept(bank, pair, generator=gen, seeds=SEEDS);

# %% [markdown]
# ## Exercise 3 · Judge it with ground truth
# `source` is a list of `Attributes` (one per seed: what the unsteered video shows), `measured_by_phi` maps each φ to
# the list of `Attributes` measured on the steered videos. Return `{"flip_rate": [...], "preservation_rate": [...]}`
# with one value per φ in ascending order: the share of seeds whose `slot` equals `target`, and the share whose every
# *other* attribute equals the source's. (`l2vkit.toyworld.ground_truth.ground_truth_scores` computes these and
# more — write your own first.)

# %%
FIELDS = list(tw.ATTRIBUTE_VALUES)


def judge(source, slot, target, measured_by_phi) -> dict:
    # YOUR CODE HERE
    raise NotImplementedError


labs.check_judge(judge);

# %% [markdown]
# ## Put it together: a φ sweep, judged
# Steer each evaluation seed's caption with φ ∈ {0, 0.5, 1, 1.5}, measure every video, and score the sweep with your
# `judge` and with `ground_truth_scores` (which adds per-attribute accuracy and monotonicity). The plot shows the flip
# rate rising with φ while the other attributes stay put — or not.

# %%
from l2vkit.toyworld.ground_truth import ground_truth_scores

PHIS = (0.0, 0.5, 1.0, 1.5)
if pair and bank:
    q = bank[pair.name]
    captions = [toy_captions(pair, 1, seed=20_000 + s)[0] for s in SEEDS]
    base = gen.encode_prompt(captions)
    videos = {phi: gen.sample(base.with_embeds(base.embeds + phi * q), seed=SEED, output="frames").frames
              for phi in PHIS}

    def attributes(video, fallback):
        m = measured_attributes(video)
        return fallback if None in m.values() else tw.Attributes(**m)

    source = [attributes(v, tw.parse_caption(c)) for v, c in zip(videos[0.0], captions)]
    measured = {phi: [attributes(v, s.replace(**{pair.slot: pair.source})) for v, s in zip(vs, source)]
                for phi, vs in videos.items()}
    mine = labs.attempt(judge, source, pair.slot, pair.target, measured)
    scores = ground_truth_scores(source, pair.slot, pair.target, measured)
    print("φ          ", PHIS)
    print("flip rate  ", [round(x, 2) for x in scores.flip_rate], "(yours:", mine and mine["flip_rate"], ")")
    print("preserved  ", [round(x, 2) for x in scores.preservation_rate])
    print("monotonicity (Spearman ρ of flip vs φ):", round(scores.monotonicity, 2))
    show_videos({f"φ = {phi:g}": vs[0] for phi, vs in videos.items()})
    fig, ax = scores.plot()
else:
    fig = None
    print("finish exercises 1 and 2 first")
fig

# %% [markdown]
# **What to read off.** A good concept flips the slot in most seeds by φ = 1, keeps the other attributes, and flips
# monotonically. Typical failure modes the ground truth exposes: the flip happens only for some scenes (look at which
# seeds fail), another attribute drifts along (preservation drops — the concept learnt a correlate), or large φ breaks
# the video (no object found).

# %% [markdown]
# ## Exercise 4 · Whose notion is it? Let the VLM choose the edits
# A concept trained as above follows the *generator's* velocity difference Δv; the VLM only weighs it (Δω). So the
# video shows what the generator draws for the target word, even where the VLM means something else by it. The toy
# world ships a VLM with a planted shortcut: trained on captions where *square* came with snowy scenes, it reads
# "square" off a snowy circle (docs/sanity-checks.md). `l2vkit.edit_choice` lets the VLM pick the direction instead:
# every edit the generator can make — the pair's own concept, and a swap of each other slot's word (from the concept
# network) — steers a few captions; the VLM reads the decoded pixels; and an edit is *chosen* when it turns the VLM's
# reading to the target word in at least half of the videos it did not read so before (and raises its log-odds of
# the word by at least 1 on average, so that a VLM sitting at P ≈ 0.5 does not choose on noise).
#
# Write that share. `before` and `after` hold the VLM's P(target) per video, without and with one edit (numpy
# arrays); the VLM reads the target word when P(target) > 0.5.

# %%
def reads_target(before, after) -> float:
    # YOUR CODE HERE
    raise NotImplementedError


labs.check_reads_target(reads_target);

# %% [markdown]
# Now let two VLMs choose among the scene edits for the shipped `circle->square` (the full set adds colour, size,
# adverb and direction: `slots=None`, a minute on a CPU): the clean toy VLM and the shortcut VLM. Both choose the
# pair's own edit; only the shortcut VLM also chooses snow, and its concept's videos show it. L2V as in the paper,
# trained with either VLM, shows no snow at all (docs/sanity-checks.md, 50 seeds).

# %%
if VLM_ID == "toy" and GENERATOR_ID == "toy":
    from l2vkit.baselines import steered_batch
    from l2vkit.concepts.network import ConceptNetwork
    from l2vkit.concepts.resolve import ConceptsWithNetwork
    from l2vkit.edit_choice import choose_edits
    from l2vkit.paths import data_path
    from l2vkit.toyworld.shortcut import load_shortcut_vlm

    shipped = tw.load_concepts(generator=gen)
    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=gen)
    concepts = ConceptsWithNetwork(shipped, network, gen)
    square = shipped.spec("circle->square")
    no_snow = [c for c in toy_captions(square, 12, seed=SEED) if "snow" not in c]
    choice = {square.name: no_snow[: 4 if FAST else 8]}
    chosen = {label: choose_edits(gen, reader, concepts, [square], choice, slots=["scene"], progress=False)
              for label, reader in (("clean VLM", vlm), ("shortcut VLM", load_shortcut_vlm()))}
    for label, edits in chosen.items():
        for s in edits.scores[square.name]:
            print(f"{label:13s} {s.label:32s} log-odds gain {s.gain:+6.1f}   reads target {s.reads_target:.2f}"
                  + ("   CHOSEN" if s.chosen else ""))
    shown = [c for c in toy_captions(square, 6, seed=SEED + 1) if "snow" not in c][:2]  # not chosen on
    videos = {"L2V (paper)": steered_batch(gen, shown, square.name, 1.0, shipped, SEED).frames}
    videos |= {f"chosen by the {label}": steered_batch(gen, shown, square.name, 1.0, edits, SEED).frames
               for label, edits in chosen.items()}
    show_videos({name: v[0] for name, v in videos.items()})
    scenes = {name: [measured_attributes(v)["scene"] for v in vs] for name, vs in videos.items()}
    print("measured scenes:", scenes)
    # what the text above says, checked
    assert [s.value for s in chosen["clean VLM"].chosen(square.name)] == ["square"]
    assert [s.value for s in chosen["shortcut VLM"].chosen(square.name)] == ["square", "snow"]
    assert "snow" not in scenes["L2V (paper)"] and "snow" not in scenes["chosen by the clean VLM"]
    assert scenes["chosen by the shortcut VLM"] == ["snow"] * len(shown)
else:
    print("the shortcut VLM is a toy-world model: run this exercise with VLM_ID = GENERATOR_ID = 'toy'")

# %% [markdown]
# ## What to try next
# - Train with `build_concept_cache(..., divergence_kind="none")` (the unweighted Δv baseline) and compare the scores.
# - Try a harder pair (`triangle->circle`, `up->down`) and find how many cache samples and steps it needs.
# - Compare with the shipped `red->blue` (`tw.load_concepts(generator=gen)`) using `l2vkit.toyworld.steering_eval`,
#   which adds the prompt-swap and LEAPS-style baselines (notebook 07).
# - Plant a shortcut of your own (`python -m l2vkit.toyworld.train_vlm --out outputs/my_shortcut_vlm --shortcut
#   quickly=snow@0.95 --init data/toy_vlm --freeze-vision --steps 1500 --lr 1e-3`, about 10 minutes) and let it
#   choose the edits for `slowly->quickly`.
# - Open the logit editor (notebook 08) with a bank that holds your concept: `ConceptBank` objects can be merged by
#   training several pairs at once — pass a list of pairs to `build_concept_cache` and `train_concepts`.
