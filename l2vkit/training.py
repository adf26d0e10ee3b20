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


def take_step(model, optimizer, loss, *, clip: float = 1.0) -> float:
    """Back-propagate ``loss``, clip the gradient norm to ``clip`` and step the optimizer; returns the loss."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()


def resume_model(path: Path, model, optimizer, generator) -> tuple[int, float, list]:
    """Restore a model's training from its saved state (model, optimizer, torch generator) when there is one:
    returns (step, elapsed seconds, history), or (0, 0.0, []) to start afresh."""
    state = load_state(path)
    if not state:
        return 0, 0.0, []
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["torch_rng"])
    return state["step"], state["elapsed"], state["history"]


def save_model_state(path: Path, model, optimizer, generator, *, step: int, elapsed: float, history: list) -> None:
    """The state :func:`resume_model` restores, saved atomically."""
    save_state(path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "torch_rng": generator.get_state(), "step": step, "elapsed": elapsed, "history": history})


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
