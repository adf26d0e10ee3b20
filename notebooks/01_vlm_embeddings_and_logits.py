# %% [markdown]
# # 01 · The VLM side (Ω): visual tokens and caption logits
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/01_vlm_embeddings_and_logits.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** On the toy world (default) this runs on a CPU in under a minute. With a real VLM (`TIER = "colab-t4"`:
# Qwen2.5-VL-3B) use a GPU runtime; the 3B model in fp16 needs about 8 GB.
#
# A video VLM reads a video in two halves. Its **encoder E_Ω** turns pixels into *visual tokens* z_Ω — the vectors the
# language model reads in place of placeholder tokens. Its **language model** turns z_Ω plus a caption prefix into a
# next-token distribution ω. L2V needs both halves separately: later, the coupling Φ will produce z_Ω directly from
# a generator's latents, so the VLM must accept visual tokens *from outside*.
#
# **Learning objectives.** After this notebook you can
# - get a VLM's visual tokens z_Ω for a video and caption it;
# - read the next-token probabilities of a caption slot, and turn the candidates' probabilities into ω
#   (exercise 1);
# - feed visual tokens from outside, as the coupling Φ will, and take gradients back to the pixels.
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
    spec = f"{source}[colab]" if os.path.exists(source) else f"l2vkit[colab] @ {source}"
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", spec])
    import l2vkit

# %%
# Config: the only cell to change. TIER picks the models, video size and steps (l2vkit.tiers): "toy" = the
# shipped toy checkpoints on a CPU; "colab-t4" = Wan2.1-T2V-1.3B + Qwen2.5-VL-3B sized for a free Colab T4
# (`l2vkit plan --tier colab-t4` prints every stage's memory; `get_tier("colab-t4").gives_up` what it trades
# away); "a100-80g" for one 80 GB GPU.
TIER = "toy"
SEED = 0

# %% [markdown]
# ## 1. Load the VLM
# `VideoVLM.from_pretrained` picks the adapter from the checkpoint's config (Qwen-VL, LLaVA-OneVision, SmolVLM2,
# InternVL, …). The toy VLM is a real `Qwen2VLForConditionalGeneration`, tiny, trained on toy videos.

# %%
import torch

from l2vkit import toyworld as tw
from l2vkit.video import show_videos
from l2vkit.workflow import load_vlm

vlm = load_vlm(TIER)  # VideoVLM.from_pretrained(the tier's VLM)
print(type(vlm).__name__, vlm.model_id, "| visual token width D =", vlm.hidden_size)

# %% [markdown]
# ## 2. Visual tokens z_Ω and a caption
# `visual_tokens(video)` returns z_Ω with shape (B, N, D); it is differentiable with respect to float pixels.

# %%
attrs = tw.random_attributes(SEED)
video = tw.render(attrs, seed=SEED)
z = vlm.visual_tokens(video)
print("z_Ω:", tuple(z.shape))
print("truth:  ", tw.caption(attrs))
print("caption:", vlm.caption(video))
show_videos({"input": video})

# %% [markdown]
# ## 3. Logits of a caption slot: ω over a contrast pair
# `token_probs(z, prompt, candidates)` is the language model's next-token distribution after `prompt`. For a
# contrast pair we look at the two words only: `.candidates` are their probabilities and `.renormalised` the
# two-word distribution ω that Δω compares.

# %%
prompt = f"a {attrs.size}"  # the colour slot follows the size word
colours = list(tw.ATTRIBUTE_VALUES["colour"])
probs = vlm.token_probs(z, prompt, colours)
for word, p in probs.as_dict().items():
    print(f"{word:8s} {p:.3f}")

# %% [markdown]
# ### Exercise 1 · ω from the candidates' probabilities
# `probs.candidates` holds P(word | prompt, video) for each candidate word: a (B, K) tensor whose rows sum to less
# than 1, since the rest of the vocabulary takes the remainder. Write `renormalise(candidates)` that returns ω, the
# distribution over the K words alone (what `probs.renormalised` holds), which Δω compares between two readings.
#
# <details><summary>Hint</summary>
#
# Keep the ratios between the words and make each row sum to 1. Which axis holds the words?
#
# </details>
# <details><summary>Solution</summary>
#
# ```python
# def renormalise(candidates):
#     return candidates / candidates.sum(dim=-1, keepdim=True)
# ```
#
# </details>

# %%
from l2vkit import labs


def renormalise(candidates):
    """(B, K) probabilities of the candidate words → ω: each row sums to 1."""
    raise NotImplementedError  # replace with your code


labs.check_renormalise(renormalise);

# %% [markdown]
# ## 4. Visual tokens from outside
# Swap in the visual tokens of another video — here the same scene with a blue object — and the logits follow.
# This is the hook the coupling Φ will use.

# %%
blue = attrs.replace(colour="blue")
z_blue = vlm.visual_tokens(tw.render(blue, seed=SEED))
for name, tokens in {"own tokens": z, "tokens of the blue video": z_blue, "average of both": (z + z_blue) / 2}.items():
    p = vlm.token_probs(tokens, prompt, [attrs.colour, "blue"]).renormalised[0]
    print(f"{name:26s} ω({attrs.colour})={p[0]:.3f}  ω(blue)={p[1]:.3f}")

# %% [markdown]
# ## 5. Gradients reach the pixels
# Because preprocessing is written in torch, ∂ω/∂pixels exists: a saliency map of where the colour logit looks.

# %%
pixels = torch.tensor(video, dtype=torch.float32) / 255
pixels.requires_grad_(True)
p = vlm.token_probs(vlm.visual_tokens(pixels), prompt, [attrs.colour]).candidates[0, 0]
p.backward()
saliency = pixels.grad.abs().sum(dim=-1).amax(dim=0)
print("saliency peak at (row, col):", divmod(int(saliency.argmax()), saliency.shape[1]))

# %% [markdown]
# ## 6. Extraction at scale, cached
# `extract` batches many videos with a progress bar and caches z_Ω, pooled embeddings and candidate probabilities on
# disk; a second run reads the cache.

# %%
import tempfile
import time

from l2vkit.vlm.extract import extract

clips = [tw.render(tw.random_attributes(i), seed=i) for i in range(64)]
with tempfile.TemporaryDirectory() as cache:
    for attempt in ("first run", "second run"):
        start = time.perf_counter()
        result = extract(vlm, clips, cache_dir=cache, batch_size=32, prompt="a small", candidates=["red", "blue"])
        print(f"{attempt}: {time.perf_counter() - start:.2f} s, cached {result.cached}, computed {result.computed}")

# %% [markdown]
# ## What to try next
# - Score every slot: use prompts `"a"`, `"a small red"`, … and candidate lists from `tw.ATTRIBUTE_VALUES`.
# - Feed a blend `(1 − α)·z + α·z_blue` for α in 0…1 and plot ω(blue): how linear is the VLM's colour reading?
# - On a GPU runtime set `TIER = "colab-t4"` (Qwen2.5-VL-3B) and read a real clip (`l2vkit.video.read_video`).
# - Next notebook: `02_generator_velocities` — the Ξ side.
