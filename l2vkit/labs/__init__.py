"""Checker functions for the course labs in ``tutorials/`` (ARENA-style: exercises notebook + solutions notebook).

Every checker takes the student's function (or a value), runs it on small inputs, compares it with l2vkit's own
implementation (and, for optimal transport, with POT), prints **one clear line per check** and returns ``True`` or
``False``. A checker never raises:

- ``PASS <check> — <what was verified>``
- ``FAIL <check>: <reason>`` (wrong values, wrong shape, an exception inside the student's code, …)
- ``<check>: not yet implemented — …`` when the student's code still raises ``NotImplementedError``

=============================  ========================================================================
lab (a) Hellinger Δω           :func:`check_hellinger`, :func:`check_kl`, :func:`check_weighted_target`
lab (b) one ρ-OT step          :func:`check_cost_matrix`, :func:`check_sinkhorn`, :func:`check_rho_ot_step`
lab (c) a new concept          :func:`check_contrast_pair`, :func:`check_judge`, :func:`check_concept`
=============================  ========================================================================

>>> def hellinger(p, q):
...     raise NotImplementedError
>>> check_hellinger(hellinger)
hellinger: not yet implemented — replace the `raise NotImplementedError` with your code, then rerun this cell
False

Modules: :mod:`~l2vkit.labs.checking` (what every checker shares), :mod:`~l2vkit.labs.hellinger` (lab a),
:mod:`~l2vkit.labs.rho_ot` (lab b) and :mod:`~l2vkit.labs.new_concept` (lab c).
"""
from __future__ import annotations

from .checking import NOT_DONE, NOT_IMPLEMENTED, CheckFailed, attempt
from .hellinger import check_hellinger, check_kl, check_weighted_target
from .new_concept import check_concept, check_contrast_pair, check_judge
from .rho_ot import check_cost_matrix, check_rho_ot_step, check_sinkhorn

__all__ = [
    "NOT_DONE",
    "attempt",
    "check_concept",
    "check_contrast_pair",
    "check_cost_matrix",
    "check_hellinger",
    "check_judge",
    "check_kl",
    "check_rho_ot_step",
    "check_sinkhorn",
    "check_weighted_target",
]
