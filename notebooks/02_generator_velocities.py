# %% [markdown]
# # 02 · The generator side (Ξ): conditions, velocities and sampling
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/notebooks/02_generator_velocities.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** On the toy world (default) this runs on a CPU in about a minute. With a real generator (`TIER =
# "colab-t4"`: Wan2.1-T2V-1.3B at 33×320×576) use a GPU runtime; `l2vkit plan --tier colab-t4` shows that every stage
# fits a T4 (15 GB, no bf16: fp16 there).
#
# A flow-matching text-to-video model carries noise to video along a velocity field. With the caption's embedding
# π_Ξ (the pipeline's `prompt_embeds`) as condition, the network G predicts v = G(z_σ, π, σ), and the sampler steps
# z ← z + (σ_next − σ)·v from pure noise (σ = 1) to a latent (σ = 0) that the VAE decoder D_Ξ turns into frames.
# L2V steers exactly here: it changes π step by step.
#
# **Learning objectives.** After this notebook you can
# - encode a caption into the generator's condition π_Ξ and sample a video from it;
# - turn a velocity into the clean-latent estimate x̂0 and take one Euler step (exercises 1 and 2);
# - measure Δv for a one-word edit and change π during sampling — the hooks steering uses.
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
SEED = 0
STEPS = 25

# %% [markdown]
# ## 1. Load the generator
# The toy generator is a real diffusers `WanPipeline`: a tiny `AutoencoderKLWan` (4× smaller in space and time),
# a tiny `WanTransformer3DModel`, and the frozen real text encoder all-MiniLM-L6-v2.

# %%
import numpy as np
import torch

from l2vkit import toyworld as tw
from l2vkit.video import show_videos
from l2vkit.workflow import load_generator

caption = "a large red circle moves quickly to the right in the desert"
# A tier that frees its text encoder (colab-t4) encodes the captions it will sample before G loads.
gen = load_generator(TIER, [caption, caption.replace("red", "blue")])
print(gen)

# %% [markdown]
# ## 2. A caption becomes a condition π_Ξ, and a video

# %%
pi = gen.encode_prompt(caption)
print("π_Ξ:", tuple(pi.embeds.shape))
result = gen.sample(pi, steps=STEPS, seed=SEED, output="frames", return_trajectory=True)
print("measured:", tw.measure(result.frames))
show_videos({caption: result.frames})

# %% [markdown]
# ## 3. Velocities, and what the model thinks the video is at each step
# `velocity(z, π, t)` is one call of G. From z_σ and v the flow-matching convention gives the clean estimate
# x̂0 = z_σ − σ·v; decoding x̂0 along the trajectory shows the video appear coarse-to-fine.

# %%
sigmas = gen.sigmas(STEPS)
timesteps = gen.timesteps(STEPS)
estimates = {}
for k in (0, STEPS // 4, STEPS // 2, STEPS - 1):
    z = result.trajectory[k]
    with torch.no_grad():
        v = gen.velocity(z, pi, timesteps[k])
    estimates[f"step {k} (σ={float(sigmas[k]):.2f})"] = gen.decode(gen.x0_estimate(z, v, sigmas[k]))[0]
show_videos(estimates)

# %% [markdown]
# ### Exercise 1 · the clean-latent estimate x̂0
# Under flow matching a noisy latent is z_σ = (1 − σ)·x0 + σ·ε and the network predicts v = ε − x0. Derive x0
# from z_σ, v and σ, and write it as `x0_estimate(z, v, sigma)` (the library's `gen.x0_estimate`).
#
# <details><summary>Hint</summary>
#
# Substitute ε = v + x0 into z_σ and solve for x0. Check the ends: at σ = 0 the latent is already clean.
#
# </details>
# <details><summary>Solution</summary>
#
# ```python
# def x0_estimate(z, v, sigma):
#     return z - sigma * v
# ```
#
# </details>

# %%
from l2vkit import labs


def x0_estimate(z, v, sigma):
    """z_σ, the velocity v and the noise level σ → x̂0."""
    raise NotImplementedError  # replace with your code


labs.check_x0_estimate(x0_estimate);

# %% [markdown]
# ### Exercise 2 · one Euler step of the sampler
# The sampler walks σ from 1 (noise) down to 0 (a clean latent) on the grid `gen.sigmas(STEPS)`. Write
# `euler_step(z, v, sigma, sigma_next)`: one explicit Euler step of dz/dσ = v from σ to σ_next (what diffusers'
# `FlowMatchEulerDiscreteScheduler.step` computes).
#
# <details><summary>Hint</summary>
#
# dz/dσ = v, and the step in σ is σ_next − σ. Is that number positive or negative while sampling?
#
# </details>
# <details><summary>Solution</summary>
#
# ```python
# def euler_step(z, v, sigma, sigma_next):
#     return z + (sigma_next - sigma) * v
# ```
#
# </details>

# %%
from l2vkit import labs


def euler_step(z, v, sigma, sigma_next):
    """z at σ → z at σ_next, one Euler step along the velocity v."""
    raise NotImplementedError  # replace with your code


labs.check_euler_step(euler_step);

# %% [markdown]
# ## 4. Δv: how the velocity changes when one word changes
# At the same noisy latent, the difference G(z, π⁺) − G(z, π⁻) for a contrast pair is Δv — the direction L2V will
# weight by the VLM's logit change.

# %%
pi_blue = gen.encode_prompt(caption.replace("red", "blue"))
z = result.trajectory[STEPS // 3]
with torch.no_grad():
    dv = gen.velocity(z, pi_blue, timesteps[STEPS // 3]) - gen.velocity(z, pi, timesteps[STEPS // 3])
print("‖Δv‖ / ‖v‖ =", float(dv.norm() / gen.velocity(z, pi, timesteps[STEPS // 3]).norm()))

# %% [markdown]
# ## 5. Changing the condition during sampling
# `condition_schedule(step, t)` returns π for each step — the hook that steering uses. Here π switches from red to
# blue at step 0, a third of the way, two thirds of the way, or never. Coarse structure is decided early in sampling,
# so one might expect a late switch to change less. For colour, the toy generator does not bear that out: every
# switch before the end gives a blue object, only "never" stays red, and each switched video differs from the
# never-switched one in a fifth or more of its pixels, the late switches as much as the first (watch the step-16
# video: the object is recoloured, and its outline suffers). Colour is a late decision here. Is the scene word
# decided earlier? (The second idea at the end.)

# %%
videos, colours = {}, {}
for switch in (0, STEPS // 3, 2 * STEPS // 3, STEPS):
    out = gen.sample(pi, steps=STEPS, seed=SEED, output="frames",
                     condition_schedule=lambda k, t, s=switch: pi_blue if k >= s else pi)
    videos[f"blue from step {switch}"] = out.frames
    colours[switch] = tw.measure(out.frames).colour
red_video = videos[f"blue from step {STEPS}"]
changed = {}
for switch, colour in colours.items():
    video = videos[f"blue from step {switch}"]
    changed[switch] = float((np.abs(video.astype(int) - red_video).max(axis=-1) > 32).mean())
    print(f"switch at {switch:2d}: measured colour {colour:6s}  pixels differing from never-switched {changed[switch]:.1%}")
show_videos(videos)
if TIER == "toy":  # the text above, checked: blue whenever π switches before the end, and a late switch still
    assert all(colours[s] == "blue" for s in colours if s < STEPS) and colours[STEPS] == "red", colours
    assert min(changed[s] for s in changed if s < STEPS) > 0.2, changed  # changes a fifth of the pixels or more

# %% [markdown]
# ## What to try next
# - Interpolate the condition: `pi.with_embeds((1 - a) * pi.embeds + a * pi_blue.embeds)` for a in 0…1.
# - Change the scene word instead of the colour and compare when the switch stops mattering.
# - Print `l2vkit.generator.plan_memory("Wan-AI/Wan2.1-T2V-1.3B-Diffusers", 33, 480, 832, "float16")`.
# - Next notebook: `03_fitting_the_coupling` — letting the VLM read latents directly.
