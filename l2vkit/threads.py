"""How many CPU threads torch uses, chosen so that small models stay fast on a busy machine.

The toy world's models are tiny (48 latent tokens): splitting their matrix products over several threads gains little
on an idle machine, and on a busy one every parallel region waits for its slowest thread. Measured on a 2-core
machine (``benchmarks/threads_contention.py``, median of 3): one toy ``generate`` took 0.32 s idle and 1.08 s beside
two CPU-bound processes with torch's default of 2 threads (3.4×), 0.41 s and 0.63 s with 1 thread (1.5×); the
issue that asked for this saw 82 s against 3.3 s under a heavier load. A passive OpenMP wait policy
(``OMP_WAIT_POLICY=PASSIVE``: waiting threads sleep instead of spinning) rescues 2 threads on a busy machine (0.90 s)
but triples their idle time (0.99 s), so l2vkit does not set it; one thread is the fastest choice both ways. So
loading the toy world sets one intra-op thread for the process, unless the user said otherwise:

- ``L2VKIT_THREADS=N`` (N ≥ 1) sets N threads instead;
- ``OMP_NUM_THREADS``, when set, is kept;
- loading real models changes nothing.

``l2vkit env`` shows what is in force and why.
"""
from __future__ import annotations

import os

ENV = "L2VKIT_THREADS"
_state = {"reason": "torch's default"}


def requested() -> int | None:
    """``L2VKIT_THREADS`` as a number, ``None`` when unset; a clear error when it is not a positive integer."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV}={value!r}: give a positive whole number of threads (or unset it)")
    return int(value)


def use_small_model_threads() -> int:
    """Apply the policy for a small model on the CPU (the toy world); returns the threads in force."""
    import torch

    wanted = requested()
    if wanted is not None:
        torch.set_num_threads(wanted)
        _state["reason"] = f"{ENV}={wanted}"
    elif os.environ.get("OMP_NUM_THREADS", "").strip():
        _state["reason"] = "OMP_NUM_THREADS, kept"
    else:
        torch.set_num_threads(1)
        _state["reason"] = f"1 for the toy world's small models; {ENV}=N sets N"
    return torch.get_num_threads()


def describe() -> str:
    """The threads in force and why, for ``l2vkit env``."""
    import torch

    policy = os.environ.get("OMP_WAIT_POLICY", "").strip()
    return f"{torch.get_num_threads()} ({_state['reason']})" + (f"; OMP_WAIT_POLICY={policy}" if policy else "")


__all__ = ["ENV", "describe", "requested", "use_small_model_threads"]
