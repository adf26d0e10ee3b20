"""Named configurations for the hardware people run l2vkit on: one object per tier, read by the notebooks' config
cell, the command line (``--tier``) and the demo.

A tier says which models, what video size and how many steps, in which dtype, with which memory savers
(offload, VAE tiling, gradient checkpointing), what is encoded once and freed, what is cached on disk between
stages, and what a user gives up. Whether it fits is not a claim made here: :func:`l2vkit.stage_memory.plan_stages`
computes every stage's GPU and RAM peak from these settings, and the tests check ``colab-t4`` against a free T4.

>>> get_tier("colab-t4").generator
'Wan-AI/Wan2.1-T2V-1.3B-Diffusers'
>>> sorted(TIERS)
['a100-80g', 'colab-t4', 'multi-gpu', 'toy']
"""
from __future__ import annotations

import dataclasses

GIB = 1024 ** 3
#: A T4 as torch sees it (15,360 MiB card, 15,828,320,256 bytes usable = 14.74 GiB); free Colab's RAM is shown as
#: "12.7 GB" (taken as 12.7e9 bytes = 11.83 GiB, the smaller reading).
T4_GPU_GIB = 15_828_320_256 / GIB
COLAB_FREE_RAM_GIB = 12.7e9 / GIB
#: What a tier must leave free in every stage.
HEADROOM = 0.10


@dataclasses.dataclass(frozen=True)
class Tier:
    """One hardware tier's settings (see the module docstring). Sizes of ``None`` mean the models' own defaults."""

    name: str
    description: str
    vlm: str
    generator: str
    frames: int | None = None
    height: int | None = None
    width: int | None = None
    steps: int | None = None
    dtype: str = "float16"
    gpus: int = 1  # processes / GPUs (data parallel; FSDP for concept training where ``fsdp``)
    gpu_gib: float | None = None  # memory of one GPU of the target machine (None: CPU only)
    ram_gib: float | None = None  # the machine's RAM
    offload: bool = False  # model CPU offload while sampling
    vae_tiling: bool = False
    quantisation: str | None = None  # none of the tiers needs one today
    free_text_encoder: bool = False  # encode every caption once, save π to disk, then free the text encoder
    cached_on_disk: tuple = ()  # what each stage writes for the next, so no two stages' models share the GPU
    clips: int = 64  # videos the generator draws for the coupling data
    coupling_data_batch: int = 32  # build_coupling_data(batch=)
    coupling_sizes: dict = dataclasses.field(default_factory=dict)  # Φ sizes over coupling.plan.REAL_SIZES
    coupling_batches: dict = dataclasses.field(default_factory=dict)  # fit_coupling batch_size / rho_batch_size
    concept_pairs: int = 3
    concept_batch_per_pair: int = 16
    concept_samples_per_pair: int = 16
    concept_gradient_checkpointing: bool = False
    fsdp: bool = False  # concept training shards G's weights over the GPUs
    gives_up: str = ""

    @property
    def is_toy(self) -> bool:
        return self.vlm == "toy" and self.generator == "toy"

    def generator_kwargs(self) -> dict:
        """Keyword arguments for ``VideoGenerator.from_pretrained`` (sizes and steps only where the tier sets them)."""
        out = {"frames": self.frames, "height": self.height, "width": self.width, "steps": self.steps}
        out = {k: v for k, v in out.items() if v is not None}
        if not self.is_toy:
            out.update(dtype=self.dtype, offload=self.offload, vae_tiling=self.vae_tiling)
        return out


_CACHED = ("π of every caption (text encoder freed)", "VLM readings", "coupling data", "Φ", "concept cache",
           "concept bank")

TIERS: dict[str, Tier] = {t.name: t for t in (
    Tier("toy", "the shipped toy world on a CPU, in minutes: ground truth for every result", "toy", "toy",
         dtype="float32", clips=64),
    Tier("colab-t4", "free Colab: one T4 (14.74 GiB usable, no bf16) and 12.7 GB of RAM",
         "Qwen/Qwen2.5-VL-3B-Instruct", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", frames=33, height=320, width=576,
         steps=30, dtype="float16", gpu_gib=T4_GPU_GIB, ram_gib=COLAB_FREE_RAM_GIB, vae_tiling=True,
         free_text_encoder=True, cached_on_disk=_CACHED, clips=32, coupling_data_batch=1,
         coupling_batches={"batch_size": 8, "rho_batch_size": 4}, concept_batch_per_pair=2,
         concept_samples_per_pair=8, concept_gradient_checkpointing=True,
         gives_up="2-second clips (33 frames at 16 fps) at 320×576 instead of Wan's 81 frames at 480×832; 30 "
                  "sampling steps instead of 50; float16 (a T4 has no bfloat16); the 3B VLM instead of the 7B; "
                  "the 10.6 GiB text encoder is loaded once to encode every caption and freed, so the logit "
                  "editor offers only captions encoded beforehand; each stage loads its models from disk again "
                  "(slower than keeping them in memory); concept training recomputes G's blocks in the backward "
                  "pass (about a third slower) and draws 2 samples per pair and step instead of 16."),
    Tier("a100-80g", "one 80 GB A100/H100: the paper's video size with the 7B VLM",
         "Qwen/Qwen2.5-VL-7B-Instruct", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", frames=81, height=480, width=832,
         steps=50, dtype="bfloat16", gpu_gib=80e9 / GIB, ram_gib=83.5, free_text_encoder=True,
         cached_on_disk=_CACHED, clips=64, coupling_data_batch=2, concept_batch_per_pair=2,
         concept_gradient_checkpointing=True,
         gives_up="nothing of the method; concept training with 2 samples per pair and step and recomputed blocks."),
    Tier("multi-gpu", "8 × 80 GB GPUs: the 14B generator, data-parallel stages, FSDP concept training",
         "Qwen/Qwen2.5-VL-7B-Instruct", "Wan-AI/Wan2.1-T2V-14B-Diffusers", frames=81, height=480, width=832,
         steps=50, dtype="bfloat16", gpus=8, gpu_gib=80e9 / GIB, ram_gib=1000.0, free_text_encoder=True,
         cached_on_disk=_CACHED, clips=256, coupling_data_batch=1, concept_batch_per_pair=1,
         concept_gradient_checkpointing=True, fsdp=True,
         gives_up="nothing of the method; run under `accelerate launch` or `torchrun` (see docs/scaling.md)."),
)}


def get_tier(name) -> Tier:
    """The tier called ``name`` (or ``name`` itself when it is a :class:`Tier`)."""
    if isinstance(name, Tier):
        return name
    try:
        return TIERS[str(name)]
    except KeyError:
        raise ValueError(f"unknown tier {name!r}; choose one of {', '.join(TIERS)}") from None


__all__ = ["COLAB_FREE_RAM_GIB", "HEADROOM", "T4_GPU_GIB", "TIERS", "Tier", "get_tier"]
