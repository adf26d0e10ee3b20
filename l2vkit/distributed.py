"""Several processes, from the launchers users already use: ``accelerate launch --num_processes N`` and
``torchrun --nproc_per_node N`` both set ``RANK`` / ``WORLD_SIZE`` (and ``MASTER_ADDR`` / ``MASTER_PORT``), and that is
all l2vkit reads. One code path: with one process every function here is a no-op.

How the stages split their work (each item computed by exactly one process):

- extraction: video ``i`` goes to process ``i % world``; every process then holds every result (gathered);
- coupling fit and concept training: every process draws the same global batch (same seed), takes its rows
  (:func:`my_rows`), and the gradients are summed across processes weighted by rows, so one step equals the
  single-process step on the whole batch (data-parallel, as DDP does) and every process keeps the same weights.

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
    rank, size = world()
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


def barrier() -> None:
    if world()[1] > 1:
        _group().barrier()


__all__ = ["barrier", "gather", "is_main", "my_rows", "sum_gradients", "weighted_mean", "world"]
