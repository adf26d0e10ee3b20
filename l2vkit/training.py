"""Pieces long training runs share (coupling fit, concept bank, toy models): the learning-rate schedule, resumable
state, atomic model folders."""
from __future__ import annotations

import contextlib
import math
import shutil
from pathlib import Path

from .io import atomic_path


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then a cosine from 1 down to 0.1 at ``total``."""
    return min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))


def check_settings(**settings) -> None:
    """Refuse training settings a run cannot use, by name: ``lr`` a finite positive number, everything else (steps,
    batch sizes, checkpoint intervals) a positive whole number. NaN or a negative learning rate would train nothing,
    or diverge, without a word until the end."""
    import numbers

    for name, value in settings.items():
        if name == "lr":
            good = (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
                    and value > 0)
            expected = "a finite positive number, e.g. 1e-3"
        else:
            good = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0
            expected = "a positive whole number"
        if not good:
            raise ValueError(f"{name}={value!r}; expected {expected}")


def save_state(path: Path, state: dict) -> None:
    """torch.save a training state atomically (an interruption keeps the previous checkpoint)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path: Path) -> dict | None:
    """The saved training state, or ``None`` when there is none yet.

    Read with ``weights_only=True``: tensors, numbers, strings and containers only, which is all a state holds, so a
    file planted where a state is looked for cannot run code; one holding anything else is refused, naming it.
    """
    import pickle

    import torch

    if not Path(path).exists():
        return None
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"{path} is not a plain training state: it holds objects that would run code when loaded, "
                         "so it was not loaded. l2vkit never writes such files; if you did not put it there, delete "
                         "it (training then starts afresh)") from None


@contextlib.contextmanager
def staged_folder(out: Path):
    """Yield an empty staging folder beside ``out``; on success it replaces ``out`` (the old one is removed last)."""
    out = Path(out)
    staging = out.with_name(out.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    yield staging
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)  # left over from an interrupted swap
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)
