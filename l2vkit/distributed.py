"""Several processes, from the launchers users already use: ``accelerate launch --num_processes N`` and
``torchrun --nproc_per_node N`` both set ``RANK`` / ``WORLD_SIZE`` (and ``MASTER_ADDR`` / ``MASTER_PORT``), and that is
all l2vkit reads. One code path: with one process every function here is a no-op.

How the stages split their work (each item computed by exactly one process):

- extraction: video ``i`` goes to process ``i % world``; every process then holds every result (gathered);
- coupling data: batch ``b`` of videos goes to process ``b % world``; every process draws the random numbers of
  every batch, so each sample gets the noise it would get in one process; one process writes the store;
- coupling fit and concept training: every process draws the same global batch (same seed), takes its rows
  (:func:`my_rows`), and the gradients are summed across processes weighted by rows, so one step equals the
  single-process step on the whole batch (data-parallel, as DDP does) and every process keeps the same weights;
  concept training can also shard G's frozen weights (:func:`shard_transformers`, FSDP2).

The process group is created on first use (gloo on CPUs, NCCL on GPUs) unless the launcher's code already did.
"""
from __future__ import annotations

import os


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` outside a launcher."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"RANK={rank}, WORLD_SIZE={size}: need 0 ≤ RANK < WORLD_SIZE")
    return rank, size


def is_main() -> bool:
    """The process that writes shared files and shows progress bars."""
    return world()[0] == 0


def _group():
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return dist


def my_rows(count: int) -> slice:
    """This process's contiguous share of ``count`` rows (shares differ by at most one row)."""
    rank, size = world()
    return slice(rank * count // size, (rank + 1) * count // size)


def sum_gradients(params, rows: int, total: int) -> None:
    """Make every process's gradients those of the whole batch: each holds the mean over its ``rows`` of ``total``."""
    _, size = world()
    if size == 1:
        return
    dist = _group()
    for p in params:
        if p.grad is not None:
            p.grad.mul_(rows / total)
            dist.all_reduce(p.grad)


def weighted_mean(value: float, rows: int, total: int) -> float:
    """The whole batch's mean of a per-process mean (for logging a loss)."""
    import torch

    if world()[1] == 1:
        return float(value)
    dist = _group()
    t = torch.tensor([float(value) * rows / total], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item())


def gather(obj) -> list:
    """Every process's ``obj``, in rank order (pickled between the processes of one run, never to disk)."""
    if world()[1] == 1:
        return [obj]
    dist = _group()
    out = [None] * world()[1]
    dist.all_gather_object(out, obj)
    return out


def shard_transformers(generator) -> int:
    """Shard the generator's frozen transformer over the processes (FSDP2 ``fully_shard``, block by block): each
    process keeps 1/N of the weights and gathers one block at a time. Returns the parameters this process holds.

    For training through G that does not fit one GPU (concept training on Wan2.1-14B). Every process must then call
    the transformer together, as concept training does; the sharding stays for the generator's later use.
    Generators with two experts are refused: per-sample timesteps send processes to different experts."""
    import torch
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import FSDPModule, fully_shard

    modules = [m for m in (getattr(generator.pipe, n, None) for n in ("transformer", "transformer_2")) if m is not None]
    if len(modules) > 1:
        raise ValueError("FSDP of a generator with two experts (Wan2.2-A14B) is not supported: processes would wait "
                         "on different experts; use data parallelism (fsdp=False) or one expert")
    if world()[1] == 1:
        return sum(p.numel() for p in modules[0].parameters())
    _group()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    mesh = init_device_mesh(device, (world()[1],))
    model = modules[0]
    if not isinstance(model, FSDPModule):
        blocks = getattr(model, "blocks", None) or getattr(model, "transformer_blocks", None) or []
        for block in blocks:
            fully_shard(block, mesh=mesh)
        fully_shard(model, mesh=mesh)
    return sum(p.to_local().numel() if hasattr(p, "to_local") else p.numel() for p in model.parameters())


def barrier() -> None:
    if world()[1] > 1:
        _group().barrier()


__all__ = ["barrier", "gather", "is_main", "my_rows", "shard_transformers", "sum_gradients", "weighted_mean",
           "world"]
