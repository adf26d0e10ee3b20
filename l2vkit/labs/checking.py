"""What every lab checker shares: one PASS / FAIL / "not yet implemented" line per check (:func:`run_check`),
the :data:`NOT_DONE` value of an unfinished exercise (:func:`attempt`), and comparisons of the student's tensors
with the reference that fail with a readable reason (:class:`CheckFailed`)."""
from __future__ import annotations

import traceback
from typing import Callable

import numpy as np

NOT_IMPLEMENTED = "not yet implemented"


class _NotDone:
    """What :func:`attempt` returns for an unfinished exercise: falsy, and reported by every checker as
    "not yet implemented"."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_DONE"


#: The value of an unfinished exercise (see :func:`attempt`).
NOT_DONE = _NotDone()


def attempt(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, or :data:`NOT_DONE` when it (still) raises ``NotImplementedError`` — or when one of
    the arguments is itself ``NOT_DONE``. Lets an exercises notebook run top to bottom: later cells test
    ``if value:`` and checkers report the value as "not yet implemented".

    >>> def my_pair():
    ...     raise NotImplementedError
    >>> pair = attempt(my_pair); bool(pair), pair
    (False, NOT_DONE)
    """
    if any(a is NOT_DONE for a in (*args, *kwargs.values())):
        return NOT_DONE
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        return NOT_DONE


class CheckFailed(Exception):
    """Raised inside a check body to report a FAIL with a reason."""


def run_check(name: str, body: Callable[[], str | None]) -> bool:
    """Run one check: print PASS / FAIL / not yet implemented and return whether it passed. Never raises."""
    try:
        detail = body()
    except NotImplementedError:
        print(f"{name}: {NOT_IMPLEMENTED} — replace the `raise NotImplementedError` with your code, "
              "then rerun this cell")
        return False
    except CheckFailed as err:
        print(f"FAIL {name}: {err}")
        return False
    except Exception as err:  # the student's code crashed: report it, don't propagate
        where = traceback.extract_tb(err.__traceback__)[-1]
        print(f"FAIL {name}: your code raised {type(err).__name__}: {err} (at {where.name}, line {where.lineno})")
        return False
    print(f"PASS {name}" + (f" — {detail}" if detail else ""))
    return True


def as_tensor(x, what: str):
    """The student's output as a float64 torch tensor (accepts torch tensors, numpy arrays, lists, floats)."""
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float64).cpu()
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} returned {type(x).__name__}; expected a tensor or an array of numbers") from None


def expect_shape(x, shape, what: str):
    """Raise :class:`CheckFailed` unless ``x`` has shape ``shape``."""
    if tuple(x.shape) != tuple(shape):
        raise CheckFailed(f"{what} has shape {tuple(x.shape)}; expected {tuple(shape)}")


def expect_close(got, want, what: str, *, atol: float = 1e-6, rtol: float = 1e-5):
    """Raise :class:`CheckFailed` unless ``got`` has ``want``'s shape, is finite and is close to it (naming the
    largest gap)."""
    import torch

    expect_shape(got, want.shape, what)
    if not torch.isfinite(got).all():
        raise CheckFailed(f"{what} contains NaN or infinite values")
    if not torch.allclose(got, want.to(got.dtype), atol=atol, rtol=rtol):
        worst = int((got - want).abs().flatten().argmax())
        raise CheckFailed(f"{what} differs from the reference: got {got.flatten()[worst].item():.6g} where "
                          f"{want.flatten()[worst].item():.6g} was expected (largest gap "
                          f"{(got - want).abs().max().item():.3g})")
