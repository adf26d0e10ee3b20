# %% [markdown]
# # 08 · The interactive logit editor
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/08_interactive_logit_editor.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** On the toy world (default) each edit renders in about a second on a CPU. With real models use a GPU
# runtime and expect one sampling run per edit (tens of seconds for a short clip on a T4); the editor only renders
# when a slider comes to rest, and *stop* cancels a render in progress.
#
# The editor turns the whole series into one control panel. Pick a caption π⁻: every contrast pair whose source word
# occurs in it gets a slider for its strength φ (−2 … 2), so moving a slider asks for a change of that word's logit; a
# pair whose target word occurs instead gets one too, and steers back towards its source word with φ < 0.
# The video is sampled with π⁻ + Σ_k φ_k q_k, optionally only inside a window of sampling steps; next to it the
# editor shows the VLM's probabilities of every pair's two words — read through the coupling Φ from the final latent
# and from the decoded pixels — for the unsteered and the edited video, and the VLM's own caption of both.
#
# Under the widgets is a pure function, `l2vkit.widgets.render(state) -> RenderOutput(video, figures, html, …)`: the
# same `EditorState` (caption, strengths, window, seed, steps) always gives the same output. The widget layer only
# wires core ipywidgets to it and redraws an `Output`, so it works on Colab and in JupyterLab, and everything it shows
# can also be produced from code — which is what this notebook does below, so it runs without anyone moving a slider.

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
CAPTION = "a small red circle moves slowly up in the desert"

# %% [markdown]
# ## 1. Models, coupling Φ and the concept bank
# On Colab, widgets need no extra step (ipywidgets is preinstalled and enabled).

# %%
# %matplotlib inline
import numpy as np

from l2vkit import toyworld as tw
from l2vkit.plots import curves_over_phi
from l2vkit.tiers import get_tier
from l2vkit.widgets import EditorState, editable_pairs, logit_editor, render
from l2vkit.widgets.editor import EXAMPLE_CAPTIONS
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
    # three pairs (the tier plans three) and the editor's captions
    pairs = [p for p in tw.contrast_pairs() if p.name in ("red->blue", "desert->snow", "slowly->quickly")]
    texts = [tw.caption(tw.random_attributes(i)) for i in range(tier.clips)]
    pair_captions = {p.name: tw.toy_captions(p, tier.concept_samples_per_pair, seed=k) for k, p in enumerate(pairs)}
    vlm, gen, coupling, bank = prepare_real_models(tier, texts, pairs, pair_captions,
                                                   extra_captions=[CAPTION, *EXAMPLE_CAPTIONS])
print("editable in", repr(CAPTION), "→", editable_pairs(CAPTION, bank))

# %% [markdown]
# ## 2. The editor
# Type or pick a caption, move a slider, narrow the window; with *live* on, the editor renders once the controls have
# been still for a moment (rapid slider moves are collapsed into one render). *generate* renders now, *stop* cancels.
# (A static copy of this notebook shows the controls but cannot run them: open it in Colab or Jupyter.)

# %%
editor = logit_editor(gen, vlm, coupling, bank, caption=CAPTION, seed=SEED, measure=tw.measure if TOY else None)
editor

# %% [markdown]
# Driving the editor from code does what the mouse does: set a slider, then render. The output appears in the editor
# above (run this cell after the previous one).

# %%
editor.set_strength("red->blue", 1.0)
shown = editor.render_now()
print("rendered:", shown.active, "→ VLM caption:", shown.vlm_caption)

# %% [markdown]
# ## 3. The render function on its own
# One state, two edits at once (colour and scene), injected in every step. `RenderOutput.show()` displays what the
# editor would: the two videos, the probability figures (through Φ and from the pixels), the frames and the summary.

# %%
state = EditorState(CAPTION, {"red->blue": 1.0, "desert->snow": 1.0}, seed=SEED)
out = render(state, generator=gen, vlm=vlm, coupling=coupling, concepts=bank, measure=tw.measure if TOY else None)
out.show()

# %% [markdown]
# **When Φ and the pixels disagree.** The editor reads every editable pair twice: through Φ from the final latents
# (fast; what steering itself would use) and by the VLM from the decoded video's own tokens (what the VLM actually
# sees). Φ was fitted to match E_Ω(D_Ξ(z)) on latents the generator makes from ordinary captions; a steered latent
# (two concepts at once, or a large φ) can lie outside that set, and Φ then extrapolates. So when the two readings
# differ — the editor may show Φ reading *square* at 0.97 on a video whose pixels the VLM reads as a circle — trust
# the pixels, and on the toy world the measurement, which reads the video itself; treat the gap as a sign that the
# edit has left the region where Φ was fitted. On the toy world shape is what Φ reads least reliably (notebook 03's
# table). The next cell lists each pair's two readings for the render above.

# %%
for pair in out.editable:
    via_phi, from_pixels = (out.target_probability(pair, read=read) for read in ("phi", "pixels"))
    flag = "  ← disagree" if abs(via_phi - from_pixels) > 0.5 else ""
    print(f"{pair:16s} P(target) via Φ {via_phi:.3f}   from pixels {from_pixels:.3f}{flag}")
if TOY:
    print("measured:", out.measured)

# %% [markdown]
# States are plain values, so a sequence of edits is a loop. Here: the scene slider from 0 to 1.5 with the colour
# slider at 1 — the VLM's probability of *snow* from the pixels and through Φ at each step, and the caption it writes.

# %%
cache = {}
phis = [0.0, 0.5, 1.0, 1.5]
outs = [render(state.with_strength("desert->snow", phi), generator=gen, vlm=vlm, coupling=coupling, concepts=bank,
               cache=cache) for phi in phis]
for phi, o in zip(phis, outs):
    print(f"φ_scene = {phi:3.1f}: {o.vlm_caption}")
curves = {"P(snow) from pixels": [o.target_probability("desert->snow", read="pixels") for o in outs],
          "P(snow) via Φ": [o.target_probability("desert->snow") for o in outs],
          "P(blue) from pixels": [o.target_probability("red->blue", read="pixels") for o in outs]}
fig, ax = curves_over_phi(phis, curves, ylabel="probability", ylim=(-0.03, 1.03),
                          title="editing the scene logit, colour held at φ = 1")
fig

# %% [markdown]
# ## 4. Any word swap: the concept network
# A bank holds only the pairs someone trained, one training run each. The concept network h(π⁻, π⁺) → q
# (`l2vkit.concepts.ConceptNetwork`) was trained once, with the bank's objective, on 38 ordered pairs of the toy
# vocabulary; it gives q for any other swap of two words of one slot in one forward pass, from the caption and the
# caption with the word swapped. Below: `blue->purple`, a pair it never trained on (in either order), and
# `green->yellow`, into *yellow*, a word no training pair held — each next to the bank's vector trained for that pair
# alone, from the same noise. One seed each, so either may also change something else (on other captions both
# sometimes change the adverb or the shape); `data/concept_network_split.json` fixes what was held out and
# docs/concept-network.md has the 50-seed table.

# %%
if TOY:
    import time

    from IPython.display import display

    from l2vkit.concepts import ConceptNetwork, ConceptsWithNetwork
    from l2vkit.paths import data_path
    from l2vkit.steering import steer
    from l2vkit.video import contact_sheet

    network = ConceptNetwork.load(data_path("toy_concept_network.safetensors"), generator=gen)
    print("held out of its training:", ", ".join(network.meta["held_out"]["held_out"]))
    network_only = ConceptsWithNetwork(None, network, gen)  # every pair through the network
    for pair, text in (("blue->purple", "a small blue circle moves slowly right in the desert"),
                       ("green->yellow", "a small green triangle moves slowly down in the sea")):
        started = time.perf_counter()
        network.vectors(gen, [text], network.pair(pair))
        print(f"{pair}: the network's q in {time.perf_counter() - started:.3f} s")
        videos = {"unsteered": steer(gen, text, {pair: 0.0}, concepts=bank, seed=SEED).video,
                  "bank φ=1 (trained for this pair)": steer(gen, text, {pair: 1.0}, concepts=bank, seed=SEED).video,
                  "network φ=1 (never trained on it)": steer(gen, text, {pair: 1.0}, concepts=network_only,
                                                              seed=SEED).video}
        for name, video in videos.items():
            print(f"  {name:36s} measured: {tw.measure_or_none(video)}")
        fig, _ = contact_sheet(videos, frames=[0, 4, 8], title=f"{pair} on {text!r}")
        display(fig)
else:
    print("the shipped concept network is the toy generator's: train one for your models with "
          "l2vkit.concepts.train_concept_network on a cache of many pairs")

# %% [markdown]
# In the editor, `ConceptsWithNetwork(bank, network, generator)` keeps the bank's trained vectors and gives every
# other swap through the network: type a source and a target word and press *add* (or call `add_pair`); the slider of
# a pair the bank lacks is labelled *(network)*, and the summary says the vector was predicted. On the command line:
# `l2vkit steer "a large yellow square moves quickly down in the snow" --concept yellow:purple=1 --network toy`.

# %%
if TOY:
    with_network = ConceptsWithNetwork(bank, network, gen)
    net_editor = logit_editor(gen, vlm, coupling, with_network, seed=SEED, measure=tw.measure,
                              caption="a large yellow square moves quickly down in the snow")
    net_editor.add_pair("yellow", "purple")
    net_editor.set_strength("yellow->purple", 1.0)
    print("measured:", net_editor.render_now().measured)
    display(net_editor)

# %% [markdown]
# ## What to try next
# - Set the window to the last 30 % of the steps and move the scene slider: the scene changes, the layout stays.
# - Type a caption with words no pair edits (e.g. "a large yellow triangle …"): which sliders remain?
# - Negative φ: what does the VLM make of "less red than red"?
# - Build your own bank (Lab C) and pass it to `logit_editor` — its pairs get sliders automatically.
# - Steer `red->blue` with `network_only` and with `bank`: how close are the two videos?
