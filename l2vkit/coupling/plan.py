"""Φ's size and one training step's memory for real models, planned before anything is loaded or downloaded.

``plan_coupling(generator, vlm, frames, height, width)`` takes the generator's latent shape from the memory
planner's table (:mod:`l2vkit.generator.memory`), the VLM's token grid of the decoded clip under its official video
preprocessing (frames sampled at the family's fps, sides by ``smart_resize``; :data:`KNOWN_VLMS`), builds Φ on the
meta device (no memory, no weights) to count its parameters, and runs each training stage's forward and backward
there with hooks that add up what autograd keeps for the backward pass. Attention is planned as a GPU runs it
(memory-efficient SDPA, no N×N matrix).

The peak of a stage = Φ's weights + the stage's gradients and two AdamW moments + the batch + the saved activations
+ twice the largest single intermediate (what is alive while one op runs). Where ``fit_coupling`` recomputes
activations (gradient checkpointing, on for large grids), the saved activations are those kept between the
recomputed segments plus one segment's own (the total without checkpointing over the number of segments). It is a plan, not a measurement: the CUDA allocator's
caching and fragmentation come on top (typically 10–20 %).

Command line (one row; its last line is ``phi_params=<int> train_peak_gib=<float>``)::

    python -m l2vkit.coupling.plan --generator Wan-AI/Wan2.1-T2V-1.3B-Diffusers \\
        --vlm Qwen/Qwen2.5-VL-3B-Instruct --frames 33 --height 480 --width 832
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math

from ..vlm.memory import KNOWN_VLM_SIZES, VLMSize, known_vlm_size
from .fit import STAGES

GIB = 1024 ** 3


#: What the plan needs of a VLM (its token width and official video preprocessing): the VLM memory table's entries.
VLMSpec = VLMSize
KNOWN_VLMS = KNOWN_VLM_SIZES
known_vlm = known_vlm_size

#: Frame rates the generators write their videos at (Wan2.1 16 fps, Wan2.2 TI2V-5B 24 fps, LTX-Video 25 fps).
GENERATOR_FPS = {"Wan2.1-T2V-1.3B": 16, "Wan2.1-T2V-14B": 16, "Wan2.2-TI2V-5B": 24, "Wan2.2-T2V-A14B": 16,
                 "LTX-Video-2B": 25}
#: Φ's sizes for real models: the paper's depths (24 mixer blocks, 12 transformer layers) at width 512.
REAL_SIZES = {"width": 512, "mixer_depth": 24, "local_depth": 12, "heads": 8}
#: Training batches the plan assumes for real models (``fit_coupling``'s ``batch_size`` / ``rho_batch_size``).
REAL_BATCHES = {"batch_size": 8, "rho_batch_size": 4}


@dataclasses.dataclass
class CouplingPlan:
    """Φ's parameter count and planned training peak (GiB) per stage for one generator / VLM / clip size."""

    generator: str
    vlm: str
    frames: int
    height: int
    width: int
    latent_shape: tuple
    token_grid: tuple
    config: dict
    phi_params: int
    stage_gib: dict
    batches: dict

    @property
    def latent_tokens(self) -> int:
        return math.prod(s // p for s, p in zip(self.latent_shape[1:], self.config["patch"]))

    @property
    def vlm_tokens(self) -> int:
        return math.prod(self.token_grid)

    @property
    def train_peak_gib(self) -> float:
        return max(self.stage_gib.values())

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in self.stage_gib.items())
        return (f"Φ for {self.generator} → {self.vlm} at {self.frames}×{self.height}×{self.width}: latents "
                f"{self.latent_shape} ({self.latent_tokens} patches), VLM grid {self.token_grid} ({self.vlm_tokens} "
                f"tokens × {self.config['token_dim']}); width {self.config['width']}, depths "
                f"{self.config['mixer_depth']}/{self.config['local_depth']}; batches {self.batches}\n"
                f"training peak per stage (GiB, planned): {stages}\n"
                f"phi_params={self.phi_params} train_peak_gib={self.train_peak_gib:.2f}")


def plan_coupling(generator: str, vlm: str, frames: int, height: int, width: int, *, sizes: dict | None = None,
                  batches: dict | None = None) -> CouplingPlan:
    """Plan Φ for a known generator and VLM (ids or names) at ``frames``×``height``×``width`` (see the module
    docstring). ``sizes``: :class:`~l2vkit.coupling.networks.CouplingConfig` fields over :data:`REAL_SIZES`;
    ``batches``: over :data:`REAL_BATCHES`."""
    from ..generator.memory import known_spec
    from .networks import CouplingConfig

    gen = known_spec(generator)
    if gen is None:
        raise ValueError(f"no plan table entry for generator {generator!r}; see l2vkit.generator.memory.KNOWN")
    spec = known_vlm(vlm)
    if (frames - 1) % gen.temporal or height % (gen.spatial * 2) or width % (gen.spatial * 2):
        raise ValueError(f"{gen.name} takes frames = {gen.temporal}k + 1 and sides that are multiples of "
                         f"{gen.spatial * 2}; got {frames}×{height}×{width}")
    latent_shape = (gen.latent_channels, (frames - 1) // gen.temporal + 1, height // gen.spatial, width // gen.spatial)
    grid = spec.token_grid(frames, GENERATOR_FPS[gen.name], height, width)
    cfg = CouplingConfig(latent_shape=latent_shape, text_dim=gen.text_dim, tokens=math.prod(grid),
                         token_dim=spec.hidden, token_grid=grid, **{**REAL_SIZES, **(sizes or {})})
    batches = {**REAL_BATCHES, **(batches or {})}
    params, stage_gib = training_peaks(cfg, text_len=gen.text_len, **batches)
    return CouplingPlan(gen.name, spec.name, frames, height, width, latent_shape, grid, cfg.as_dict(), params,
                        stage_gib, batches)


def training_peaks(cfg, *, text_len: int = 512, batch_size: int = 8, rho_batch_size: int = 4) -> tuple[int, dict]:
    """(parameters, {stage: planned peak GiB}) of fitting a Φ of ``cfg`` in float32, traced on the meta device."""
    import torch

    from .networks import Coupling

    with torch.device("meta"):
        model = Coupling(cfg)
    params = sum(p.numel() for p in model.parameters())
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    peaks = {}
    for stage in STAGES:
        size = rho_batch_size if stage == "rho" else batch_size
        trained = list({"global": model.global_branch, "local": model.local_branch, "rho": model.rho}[stage]
                       .parameters())
        model.requires_grad_(False)
        for p in trained:
            p.requires_grad_(True)
        optimiser = 3 * sum(p.numel() * p.element_size() for p in trained)  # gradients + AdamW's two moments
        with torch.device("meta"):
            batch = _batch(cfg, size, text_len)
        batch_bytes = sum(t.numel() * t.element_size() for t in batch.values())
        segments = _segments(cfg, stage, size)
        model.gradient_checkpointing(False)
        saved, largest = _trace(model, batch, stage)
        if segments > 1:
            model.gradient_checkpointing(True)
            kept, _ = _trace(model, batch, stage)
            saved = kept + saved / segments
        peaks[stage] = (weights + optimiser + batch_bytes + saved + 2 * largest) / GIB
    return params, peaks


def _segments(cfg, stage: str, size: int) -> int:
    """How many recomputed segments gradient checkpointing cuts ``stage`` into (1: not checkpointed)."""
    from .networks import needs_checkpointing
    from .transport import _auto_chunk

    if not needs_checkpointing(cfg) or stage == "local":
        return 1
    if stage == "global":
        return cfg.mixer_depth + cfg.out_depth
    return -(-cfg.projections // _auto_chunk(None, cfg.projections, size * cfg.tokens * cfg.tokens))


def _batch(cfg, size: int, text_len: int) -> dict:
    import torch

    return {"latents": torch.empty(size, *cfg.latent_shape), "embeds": torch.empty(size, text_len, cfg.text_dim),
            "mask": torch.ones(size, text_len, dtype=torch.bool), "local_tokens": torch.empty(size, cfg.tokens,
                                                                                            cfg.token_dim),
            "targets": torch.empty(size, cfg.tokens, cfg.token_dim)}


def _trace(model, batch, stage) -> tuple[int, int]:
    """(bytes autograd saves for backward, bytes of the largest single intermediate) of one forward + backward."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    from .fit import stage_losses

    skip = {p.untyped_storage()._cdata for p in model.parameters()}
    skip |= {b.untyped_storage()._cdata for b in model.buffers()}
    saved = {}

    def pack(t):
        key = t.untyped_storage()._cdata
        if key not in skip:
            saved[key] = t.untyped_storage().nbytes()
        return t

    class Largest(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor):
                    Largest.largest = max(Largest.largest, t.numel() * t.element_size())
            return out

    with _fused_attention(), Largest(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = sum(stage_losses(model, batch, stage).values())
        loss.backward()
    return sum(saved.values()), Largest.largest


@contextlib.contextmanager
def _fused_attention():
    """Attention as a GPU runs it: the memory-efficient SDPA kernel (keeps q, k, v, out and a logsumexp, no N×N),
    where the meta device would otherwise trace the math path."""
    import torch
    import torch.nn.functional as F

    original = F.scaled_dot_product_attention

    def efficient(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
        return torch.ops.aten._scaled_dot_product_efficient_attention(q, k, v, attn_mask, True, dropout_p, is_causal,
                                                                      scale=scale)[0]

    F.scaled_dot_product_attention = efficient
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


def main(argv=None) -> CouplingPlan:
    parser = argparse.ArgumentParser(prog="python -m l2vkit.coupling.plan", description=__doc__.splitlines()[0])
    parser.add_argument("--generator", required=True, help="a generator of the memory planner's table (hub id)")
    parser.add_argument("--vlm", required=True, help=f"one of {', '.join(KNOWN_VLMS)} (hub id)")
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--phi-width", type=int, default=REAL_SIZES["width"], help="Φ's channel width")
    parser.add_argument("--mixer-depth", type=int, default=REAL_SIZES["mixer_depth"])
    parser.add_argument("--local-depth", type=int, default=REAL_SIZES["local_depth"])
    parser.add_argument("--batch-size", type=int, default=REAL_BATCHES["batch_size"])
    parser.add_argument("--rho-batch-size", type=int, default=REAL_BATCHES["rho_batch_size"])
    args = parser.parse_args(argv)
    try:
        plan = plan_coupling(args.generator, args.vlm, args.frames, args.height, args.width,
                             sizes={"width": args.phi_width, "mixer_depth": args.mixer_depth,
                                    "local_depth": args.local_depth},
                             batches={"batch_size": args.batch_size, "rho_batch_size": args.rho_batch_size})
    except ValueError as err:
        parser.exit(2, f"error: {err}\n")
    print(plan.summary())
    return plan


if __name__ == "__main__":
    main()
