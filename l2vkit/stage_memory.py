"""Every stage's GPU and RAM peak for a tier, planned before anything is loaded (GiB throughout).

``plan_stages(tier)`` combines the generator's plan (:func:`l2vkit.generator.plan_memory`), the VLM's
(:func:`l2vkit.vlm.memory.plan_vlm`) and Φ's training trace (:func:`l2vkit.coupling.plan.plan_coupling`) into one row
per stage of the workflow, in the order the notebooks run them:

==================  ===================================================================================
encode captions     the generator's text encoder alone: π of every caption, saved; then freed (``free_text_encoder``)
extraction          the VLM reads clips: visual tokens and logits
coupling data       E_Ξ/D_Ξ, G (x̂0 at σ) and the VLM reading the decoded clips (``build_coupling_data``)
coupling fit        Φ's training, the largest of its three stages; the data stays in RAM
concept cache       G along π⁻ trajectories, Φ_Ω1 and the VLM's language model reading through Φ
concept training    G forward and backward w.r.t. q_o (all pairs in one batch; blocks recomputed if checkpointed)
steering            sampling with π⁻ + φ·q and decoding
logit editor        steering, plus Φ and the VLM to show what the VLM reads
==================  ===================================================================================

A stage's GPU peak = what is resident (weights of the models it holds) + its largest activation + the CUDA context.
Its RAM peak = the process itself (Python, torch and the CUDA libraries) + one checkpoint shard being read while
loading (weights stream from safetensors shard by shard) + what the stage keeps on the CPU (offloaded weights, data).
Several GPUs: data-parallel stages hold every model on every GPU and split the items; with ``fsdp`` concept training
holds 1/n of G's weights plus one gathered block; steering a model bigger than one GPU is planned with diffusers'
model CPU offload. These are plans from shapes, not measurements: the allocator's caching comes on top (10–20 %);
``benchmarks/stage_memory_cpu.py`` and ``benchmarks/gpu.sh`` measure them.
"""
from __future__ import annotations

import dataclasses
import functools

from .tiers import HEADROOM, get_tier

GIB = 1024 ** 3
CUDA_CONTEXT_GIB = 0.5
#: RSS of a Python process with torch, transformers, diffusers and the CUDA libraries loaded (≈ 2.5–3 GiB on Colab).
PROCESS_RAM_GIB = 3.0
#: Hub checkpoints are sharded at ≤ 5 GB; loading holds about one shard in RAM at a time.
SHARD_GIB = 5e9 / GIB
STAGES = ("encode captions", "extraction", "coupling data", "coupling fit", "concept cache", "concept training",
          "steering", "logit editor")


@dataclasses.dataclass
class StageRow:
    """One stage: planned peaks (GiB) per GPU and of RAM, what is resident, and how it is run."""

    stage: str
    gpu_gib: float
    ram_gib: float
    resident: str
    how: str = ""


@dataclasses.dataclass
class StagePlan:
    """The rows of :func:`plan_stages` and the machine they are checked against."""

    tier: str
    gpus: int
    gpu_gib: float | None
    ram_gib: float | None
    rows: list

    def row(self, stage: str) -> StageRow:
        return next(r for r in self.rows if r.stage == stage)

    def over_budget(self, headroom: float = HEADROOM) -> list:
        """Stages whose GPU or RAM peak exceeds (1 − ``headroom``) of the machine's."""
        out = []
        for r in self.rows:
            if self.gpu_gib is not None and r.gpu_gib > (1 - headroom) * self.gpu_gib:
                out.append(f"{r.stage}: GPU {r.gpu_gib:.2f} GiB > {(1 - headroom) * self.gpu_gib:.2f}")
            if self.ram_gib is not None and r.ram_gib > (1 - headroom) * self.ram_gib:
                out.append(f"{r.stage}: RAM {r.ram_gib:.2f} GiB > {(1 - headroom) * self.ram_gib:.2f}")
        return out

    def summary(self) -> str:
        gpu = f"{self.gpu_gib:.2f} GiB" if self.gpu_gib else "-"
        ram = f"{self.ram_gib:.2f} GiB" if self.ram_gib else "-"
        lines = [f"Memory plan of tier {self.tier!r}: {self.gpus} GPU(s) of {gpu}, RAM {ram}, "
                 f"limit {1 - HEADROOM:.0%} of each (GiB, planned)",
                 f"  {'stage':<17} {'GPU':>7} {'RAM':>7}  resident / how"]
        for r in self.rows:
            lines.append(f"  {r.stage:<17} {r.gpu_gib:7.2f} {r.ram_gib:7.2f}  {r.resident}"
                         + (f"; {r.how}" if r.how else ""))
        over = self.over_budget()
        lines.append("  fits every stage" if not over else "  OVER: " + "; ".join(over))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def as_dict(self) -> dict:
        return {"tier": self.tier, "gpus": self.gpus, "gpu_gib": self.gpu_gib, "ram_gib": self.ram_gib,
                "headroom": HEADROOM, "rows": [dataclasses.asdict(r) for r in self.rows]}


def plan_stages(tier, *, offload: bool | str | None = None, verbose: bool = False) -> StagePlan:
    """Plan every stage of ``tier`` (a :class:`~l2vkit.tiers.Tier` or its name); see the module docstring.

    ``offload``: ``True`` plans the stages that hold several models with model CPU offload (one on the GPU at a
    time, the rest in RAM), ``False`` without; ``"group"`` streams G's blocks (two on the GPU at a time, all of G in
    RAM) while the other models stay; default: the tier's setting, and model offload wherever a stage would not fit.
    """
    from .coupling.plan import GENERATOR_FPS
    from .generator.memory import plan_memory
    from .vlm.memory import plan_vlm

    tier = get_tier(tier)
    if tier.is_toy:
        raise ValueError("the toy tier runs on a CPU in minutes and holds a few MB of models; there is nothing to "
                         "plan (plan_stages takes the GPU tiers: " + ", ".join(_gpu_tiers()) + ")")
    g = plan_memory(tier.generator, tier.frames, tier.height, tier.width, tier.dtype, verbose=False)
    v = plan_vlm(tier.vlm, tier.frames, tier.height, tier.width, GENERATOR_FPS[g.spec.name], tier.dtype)
    c = _coupling_plan(tier.generator, tier.vlm, tier.frames, tier.height, tier.width,
                       tuple(sorted(tier.coupling_sizes.items())), tuple(sorted(tier.coupling_batches.items())))
    n = tier.gpus
    limit = (1 - HEADROOM) * tier.gpu_gib if tier.gpu_gib else float("inf")
    w = g.weights_gb
    experts = sum(val for k, val in w.items() if k.startswith("transformer"))
    biggest = max(val for k, val in w.items() if k.startswith("transformer"))
    phi = c.phi_params * 4 / GIB  # Φ is trained and kept in float32
    decode = g.vae_decode_tiled_gb if tier.vae_tiling else g.vae_decode_gb
    kept_text = [] if tier.free_text_encoder else [("text encoder", w.get("text_encoder", 0.0), 0.0)]
    group = offload == "group"  # G's blocks streamed in as they run: one block and the next on the GPU
    g_gpu, g_ram = (2 * biggest / g.spec.layers, experts) if group else (experts, 0.0)
    sampler = [("G", g_gpu, g.transformer_activations_gb + g.latents_gb), ("VAE", w.get("vae", 0.0), decode)]
    rows = []

    def stage(name, parts, how, extra_ram=0.0):
        """All parts on the GPU (their weights + the largest activation), or offloaded (one part at a time)."""
        on_gpu = sum(p[1] for p in parts) + max(p[2] for p in parts) + CUDA_CONTEXT_GIB
        offloaded = max(p[1] + p[2] for p in parts) + CUDA_CONTEXT_GIB
        model_offload = offload if offload in (True, False) else (tier.offload or on_gpu > limit)
        use_offload = len(parts) > 1 and model_offload and not group
        if group and any(p[0] == "G" for p in parts):
            extra_ram, how = extra_ram + g_ram, "G's blocks streamed (group offload); " + how
        names = ", ".join(p[0] for p in parts)
        if use_offload:
            ram = PROCESS_RAM_GIB + sum(p[1] for p in parts) + extra_ram
            rows.append(StageRow(name, offloaded, n * ram, names, "model CPU offload; " + how))
        else:
            ram = PROCESS_RAM_GIB + SHARD_GIB + extra_ram
            rows.append(StageRow(name, on_gpu, n * ram, names, how))

    stage("encode captions", [("text encoder", w.get("text_encoder", 0.0), 0.0)],
          "π saved to disk, encoder freed" if tier.free_text_encoder else "encoder kept")
    split = f"; items split over {n} processes" if n > 1 else ""
    stage("extraction", [("VLM", v.weights_gib, v.activations_gib)],
          f"{v.tokens} positions, logits {v.logits_gib:.2f}{split}")

    b = tier.coupling_data_batch
    stage("coupling data", [("G", g_gpu, (g.transformer_activations_gb + g.latents_gb) * b),
                            ("VAE", w.get("vae", 0.0), decode * b), ("VLM", v.weights_gib, v.activations_gib * b)]
          + kept_text, f"batch {b}" + ("; VAE tiled" if tier.vae_tiling else "") + split)

    samples = tier.clips * 4  # three σ per clip and the clean one (build_coupling_data's defaults)
    latent_bytes = 4 * g.spec.latent_channels * ((g.frames - 1) // g.spec.temporal + 1) * \
        (tier.height // g.spec.spatial) * (tier.width // g.spec.spatial)
    token_bytes = 4 * c.vlm_tokens * c.config["token_dim"]
    data_ram = samples * (latent_bytes + 2 * token_bytes + 4 * g.spec.text_len * g.spec.text_dim) / GIB
    stage("coupling fit", [("Φ (float32) + AdamW", c.train_peak_gib, 0.0)],
          f"{c.phi_params / 1e6:.0f} M params, {samples} samples in RAM ({data_ram:.2f} GiB)"
          + (f"; DDP over {n} GPUs" if n > 1 else ""), data_ram)

    # concept cache: G along trajectories (guidance: two calls of one), then Φ_Ω1 and the VLM's language model
    phi_act = (c.stage_gib["global"] - phi * 4) / max(1, c.batches["batch_size"])  # one training sample bounds it
    entries = tier.concept_pairs * tier.concept_samples_per_pair * 10  # timesteps_per_sample = 10
    cache_ram = entries * (3 * latent_bytes + 4 * v.size.vocab) / GIB
    stage("concept cache", [sampler[0], ("Φ", phi, phi_act), ("VLM", v.weights_gib, v.language_gib + v.logits_gib)]
          + kept_text, f"{entries} cached samples ({cache_ram:.2f} GiB in RAM){split}", cache_ram)

    batch = tier.concept_pairs * tier.concept_batch_per_pair
    per_sample = g.grad_checkpointed_gb if tier.concept_gradient_checkpointing else g.grad_activations_gb
    local = -(-batch // n)
    if tier.fsdp and n > 1:
        resident = experts / n + 2 * biggest / g.spec.layers  # a shard, and one block gathered (and the next)
        how = f"FSDP over {n} GPUs, {local} samples per GPU"
    else:
        resident = experts
        how = f"{batch} samples per step" + (f", {local} per GPU (DDP)" if n > 1 else "")
    how += ", blocks recomputed" if tier.concept_gradient_checkpointing else ""
    stage("concept training", [("G (frozen) + q_o", resident, per_sample * local)], how, cache_ram)

    stage("steering", sampler + kept_text, "π from disk" if tier.free_text_encoder else "")
    stage("logit editor", sampler + kept_text + [("Φ", phi, 0.0), ("VLM", v.weights_gib, v.language_gib)],
          "captions encoded beforehand" if tier.free_text_encoder else "")
    plan = StagePlan(tier.name, n, tier.gpu_gib, tier.ram_gib, rows)
    if verbose:
        print(plan.summary())
    return plan


@functools.lru_cache(maxsize=16)
def _coupling_plan(generator, vlm, frames, height, width, sizes: tuple, batches: tuple):
    """Φ's plan (a few seconds of tracing on the meta device), kept for the session: the same tier plans the same."""
    from .coupling.plan import plan_coupling

    return plan_coupling(generator, vlm, frames, height, width, sizes=dict(sizes), batches=dict(batches))


def _gpu_tiers() -> list:
    from .tiers import TIERS

    return [name for name, t in TIERS.items() if not t.is_toy]


__all__ = ["CUDA_CONTEXT_GIB", "PROCESS_RAM_GIB", "SHARD_GIB", "STAGES", "StagePlan", "StageRow", "plan_stages"]
