# %% [markdown]
# # Lab B · One ρ-OT step, checked against POT — solutions
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/l2vkit/l2vkit/blob/main/tutorials/lab_b_rho_ot_solutions.ipynb) · [Glossary of symbols](https://github.com/l2vkit/l2vkit/blob/main/docs/glossary.md)
#
# **Runtime.** A CPU runs this lab in under a minute on the toy world (the default). With real models (set the ids
# in the config cell) use a GPU runtime: the lab then fits a small coupling Φ first, which takes several minutes.
#
# **The idea.** The coupling Φ maps a generator latent z_Ξ to tokens z̃_Ω that the VLM can read. It has two branches:
# Φ_Ω1 (an MLP-Mixer from the latent and its condition π_Ξ, trained with MSE) gives tokens ẑ1 with the right
# *content*, and Φ_Ω2 (a Transformer over E_Ω(D_Ξ(z)), trained with a Gram loss) gives tokens ẑ2 with the right
# *arrangement*. **ρ-OT** merges them: P learned unit directions θ¹_p, θ²_p project each branch's tokens to scalars
# a_i = ⟨θ¹_p, ẑ1_i⟩ and b_j = ⟨θ²_p, ẑ2_j⟩; the cost M_ij = (a_i − b_j)² (divided by its mean) gives an entropic
# plan T_p ∝ exp(−M/ς) after a few log-domain Sinkhorn iterations; each output token is a convex combination of
# global-branch tokens placed at the local branch's positions:
#
# z̃_j = (1/P) Σ_p N₂ Σ_i T_p,ij ẑ1_i.
#
# You implement the cost, the Sinkhorn iterations and the merge, and compare them with POT (Python Optimal Transport)
# and with the module the shipped coupling uses.
#
# **How the lab works.** It comes as two notebooks: `lab_b_rho_ot_exercises.ipynb`, where you replace each
# `raise NotImplementedError` with your code and run the checker cell below it (it prints `PASS …`,
# `FAIL …: reason` or `not yet implemented`), and `lab_b_rho_ot_solutions.ipynb` with the answers. The comparison
# cells use l2vkit's reference implementation, so they run before you finish.

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
VLM_ID = "toy"
GENERATOR_ID = "toy"
SEED = 0

# %%
# %matplotlib inline
import math
import time
import warnings

import numpy as np
import ot  # POT, installed with l2vkit
import torch

from l2vkit import labs
from l2vkit.coupling import transport

# %% [markdown]
# ## Exercise 1 · The cost matrix
# `a` has shape (..., N1) and `b` (..., N2) — leading dimensions are independent problems (one per batch element and
# projection). Return M (..., N1, N2) with M_ij = (a_i − b_j)², divided by the mean of M over its last two
# dimensions. Normalising makes ς scale-free: the same `reg` blurs the plan the same whatever the projections' spread.

# %%
def cost(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # BEGIN SOLUTION
    M = (a.unsqueeze(-1) - b.unsqueeze(-2)).square()
    return M / M.mean(dim=(-2, -1), keepdim=True).clamp_min(torch.finfo(M.dtype).tiny)
    # END SOLUTION


labs.check_cost_matrix(cost);

# %% [markdown]
# ## Exercise 2 · Log-domain Sinkhorn
# Return the entropic plan T (..., N1, N2) between uniform weights 1/N1 and 1/N2 after `n_iter` iterations. Work
# with log-potentials: start from g = 0, and in each iteration update
#
# f ← log(1/N1) − LSE_j(−M_ij/ς + g_j),  then  g ← log(1/N2) − LSE_i(−M_ij/ς + f_i),
#
# (LSE = `torch.logsumexp`), and return exp(−M/ς + f_i + g_j). Never form exp(−M/ς) itself: at ς = 10⁻³ it underflows
# to zero and the plain algorithm divides 0 by 0.

# %%
def sinkhorn(M: torch.Tensor, reg: float, n_iter: int) -> torch.Tensor:
    # BEGIN SOLUTION
    N1, N2 = M.shape[-2:]
    K = -M / reg
    g = M.new_zeros(M.shape[:-2] + (N2,))
    for _ in range(n_iter):
        f = -math.log(N1) - torch.logsumexp(K + g.unsqueeze(-2), dim=-1)
        g = -math.log(N2) - torch.logsumexp(K + f.unsqueeze(-1), dim=-2)
    return (K + f.unsqueeze(-1) + g.unsqueeze(-2)).exp()
    # END SOLUTION


labs.check_sinkhorn(sinkhorn);

# %% [markdown]
# ## Compare with POT
# One projection's problem: 7 global-branch values against 11 local-branch values. POT's `ot.sinkhorn` (converged)
# and its exact solver `ot.emd` against l2vkit's log-domain `sinkhorn_log` (the reference of exercise 2) at three
# regularisations. As ς shrinks the entropic plan sharpens towards the exact one — which in 1-D is the *sorted*
# matching, computed without any iteration by `transport.sorted_plan_1d`.

# %%
from l2vkit.plots import new_figure

g = torch.Generator().manual_seed(SEED)
a_vals, b_vals = torch.randn(7, generator=g, dtype=torch.float64), torch.randn(11, generator=g, dtype=torch.float64)
M = transport.cost_matrix(a_vals, b_vals)
wa, wb = np.full(7, 1 / 7), np.full(11, 1 / 11)
exact = ot.emd(wa, wb, M.numpy())
rows, cols, weights = transport.sorted_plan_1d(a_vals, b_vals)
sorted_plan = transport.dense_plan_from_sparse(rows, cols, weights, 7, 11).numpy()
print(f"exact plan: ot.emd vs sorted 1-D plan, max |difference| = {np.abs(exact - sorted_plan).max():.2e}")

fig, axes = new_figure(1, 4, cell=1.7, aspect=11 / 7)
order_a, order_b = np.argsort(a_vals.numpy()), np.argsort(b_vals.numpy())
for ax, reg in zip(axes[0], (0.5, 0.05, 0.005)):
    log_T, info = transport.sinkhorn_log(M, reg, n_iter=20_000, tol=1e-10)
    ours = log_T.exp().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT's plain Sinkhorn warns at small reg — the point of the log domain
        pot = ot.sinkhorn(wa, wb, M.numpy(), reg, numItermax=20_000, stopThr=1e-10)
    gap = np.abs(ours - pot).max() if np.isfinite(pot).all() else float("nan")
    print(f"reg={reg:<6} iterations={info.iterations:<6} converged={info.converged}  |ours − POT| = {gap:.1e}  "
          f"transport cost ours {np.sum(ours * M.numpy()):.4f}, exact {np.sum(exact * M.numpy()):.4f}")
    ax.imshow(ours[order_a][:, order_b], cmap="viridis")
    ax.set_title(f"ς = {reg}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
axes[0][3].imshow(exact[order_a][:, order_b], cmap="viridis")
axes[0][3].set_title("exact (ot.emd)", fontsize=9)
axes[0][3].set_xticks([])
axes[0][3].set_yticks([])
fig.suptitle("plans with both sides sorted: the exact 1-D plan is a monotone staircase", fontsize=9)
fig

# %% [markdown]
# Why the log domain: at small ς the kernel exp(−M/ς) underflows to zero for most entries in float64. POT's default
# `ot.sinkhorn` then divides by zero, warns, stops and returns a plan whose marginals are far off (at ς = 10⁻⁴ it
# loses almost all of its mass). Its `method="sinkhorn_log"` and l2vkit's `sinkhorn_log` keep converging (slowly:
# about 1/ς iterations).

# %%
def marginal_error(plan):
    plan = np.asarray(plan)
    return np.abs(plan.sum(1) - wa).sum() + np.abs(plan.sum(0) - wb).sum()


for reg in (1e-3, 1e-4):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = ot.sinkhorn(wa, wb, M.numpy(), reg, numItermax=2000, stopThr=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pot_log = ot.sinkhorn(wa, wb, M.numpy(), reg, method="sinkhorn_log", numItermax=2000, stopThr=0)
    ours = transport.sinkhorn_log(M, reg, n_iter=2000)[0].exp().numpy()
    print(f"ς = {reg:g}, 2000 iterations — marginal error (mass):")
    print(f"  POT plain   {marginal_error(plain):9.2e} ({plain.sum():.3f})  after {len(caught)} warning(s)")
    print(f"  POT log     {marginal_error(pot_log):9.2e} ({pot_log.sum():.3f})")
    print(f"  l2vkit log  {marginal_error(ours):9.2e} ({ours.sum():.3f})")

# %% [markdown]
# ## Exercise 3 · One ρ-OT merge
# `z1` (B, N1, D) and `z2` (B, N2, D) are the two branches' (standardised) tokens; `theta1`, `theta2` (P, D) the
# projection directions. Normalise each θ to unit length, project (a: (B, P, N1), b: (B, P, N2)), build the cost with
# your `cost`, run your `sinkhorn` for `n_iter` iterations, and return z̃ = (N2 / P) Σ_p T_pᵀ z1, shape (B, N2, D).
# Keep everything in torch so the projections can be trained by backpropagation.

# %%
def rho_ot_step(z1, z2, theta1, theta2, reg: float, n_iter: int) -> torch.Tensor:
    # BEGIN SOLUTION
    t1 = torch.nn.functional.normalize(theta1, dim=-1)
    t2 = torch.nn.functional.normalize(theta2, dim=-1)
    a = torch.einsum("bnd,pd->bpn", z1, t1)
    b = torch.einsum("bnd,pd->bpn", z2, t2)
    T = sinkhorn(cost(a, b), reg, n_iter)  # (B, P, N1, N2)
    return torch.einsum("bpij,bid->bjd", T, z1) * (z2.shape[1] / a.shape[1])
    # END SOLUTION


labs.check_rho_ot_step(rho_ot_step);

# %% [markdown]
# ## The merge inside the shipped coupling
# Read one toy video's latent through Φ's two branches and merge them with the coupling's own ρ-OT module (P learned
# projections). Then ask the VLM what it reads at the colour slot from each: the global branch alone, the local
# branch alone, the ρ-OT merge, and the VLM's own tokens of the decoded video (the target Φ imitates).

# %%
from l2vkit import toyworld as tw
from l2vkit.generator import VideoGenerator
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

attrs = tw.random_attributes(SEED)
caption = tw.caption(attrs)
condition = gen.encode_prompt(caption)
z = gen.sample(condition, seed=SEED).latents
model = coupling.model
with torch.no_grad():
    local_tokens = vlm.visual_tokens(gen.decode(z)).float()
    z1, z2 = model.branches(z, condition.embeds, condition.mask, local_tokens)
    merged_module = model.rho(z1, z2)
    merged_ref = transport.entropic_transport(
        z1, torch.einsum("bnd,pd->bpn", z1, model.rho.projections()[0]),
        torch.einsum("bnd,pd->bpn", z2, model.rho.projections()[1]), model.rho.reg, n_iter=model.rho.iters)
print(f"P = {model.rho.theta1.shape[0]} projections, ς = {model.rho.reg}, {model.rho.iters} Sinkhorn iterations")
print("RhoOT module vs entropic_transport, max |difference|:", float((merged_module - merged_ref).abs().max()))

prefix = f"a {attrs.size}"
colours = list(tw.ATTRIBUTE_VALUES["colour"])
readings = {"VLM's own tokens E_Ω(D_Ξ(z))": local_tokens, "Φ_Ω1 (global) only": model.destandardise(z1),
            "Φ_Ω2 (local) only": model.destandardise(z2), "ρ-OT merge": model.destandardise(merged_module)}
print(f"\ntruth: {attrs.colour}   P(colour word | '{prefix}'):")
print(" " * 32 + " ".join(f"{c:>7s}" for c in colours))
for name, tokens in readings.items():
    p = vlm.token_probs(tokens, prefix, colours).renormalised[0]
    print(f"{name:32s}" + " ".join(f"{float(x):7.3f}" for x in p))

# %% [markdown]
# **What to read off.** The merge keeps the global branch's content (the tokens it moves *are* ẑ1 tokens) while the
# plan decides where they go, guided by the local branch's arrangement. On the toy world all readings agree on the
# colour; notebook 03's ablation table measures over hundreds of held-out videos and every attribute how much each
# choice matters.
#
# ## What to try next
# - Time your `rho_ot_step` against `l2vkit.coupling.transport.entropic_transport` (which processes projections in
#   chunks) for P = 100 and N = 16; then against `sorted_transport`, the exact 1-D plan without Sinkhorn.
# - Vary `n_iter` from 1 to 50 in the merge above: how many "partial" Sinkhorn iterations does the VLM's reading need?
# - Replace the entropic plan with POT's Gromov–Wasserstein plan (`ot.gromov.gromov_wasserstein`) between the two
#   branches' token sets — the row "Gromov–Wasserstein plan (POT, exact)" of the ablation table in
#   [the coupling guide](https://github.com/l2vkit/l2vkit/blob/main/docs/coupling.md#the-shipped-toy-coupling-and-its-ablation).
# - Next: Lab C designs a new contrast pair and trains its concept vector.
