"""Checker functions for the course labs in ``tutorials/`` (ARENA-style: exercises notebook + solutions notebook)
and for the exercises inside notebooks 01–07; and the fast lab mode's switch (:func:`fast_mode`).

Every checker takes the student's function (or a value), runs it on small inputs, compares it with l2vkit's own
implementation (and, for optimal transport, with POT), prints **one clear line per check** and returns ``True`` or
``False``. A checker never raises:

- ``PASS <check> — <what was verified>``
- ``FAIL <check>: <reason>`` (wrong values, wrong shape, an exception inside the student's code, …)
- ``<check>: not yet implemented — …`` when the student's code still raises ``NotImplementedError``

=============================  ========================================================================
lab (a) Hellinger Δω           :func:`check_hellinger`, :func:`check_kl`, :func:`check_weighted_target`
lab (b) one ρ-OT step          :func:`check_cost_matrix`, :func:`check_sinkhorn`, :func:`check_rho_ot_step`
lab (c) a new concept          :func:`check_contrast_pair`, :func:`check_judge`, :func:`check_concept`,
                               :func:`check_reads_target`
notebook 01                    :func:`check_renormalise`
notebook 02                    :func:`check_x0_estimate`, :func:`check_euler_step`
notebook 03                    :func:`check_token_cosine`
notebook 04                    :func:`check_steered_condition`
notebook 05                    :func:`check_window_steps`
notebook 06                    :func:`check_latent_frames`
notebook 07                    :func:`check_spearman`
=============================  ========================================================================

>>> def hellinger(p, q):
...     raise NotImplementedError
>>> check_hellinger(hellinger)
hellinger: not yet implemented — replace the `raise NotImplementedError` with your code, then rerun this cell
False

Modules: :mod:`~l2vkit.labs.checking` (what every checker shares), :mod:`~l2vkit.labs.hellinger` (lab a),
:mod:`~l2vkit.labs.rho_ot` (lab b), :mod:`~l2vkit.labs.new_concept` (lab c), :mod:`~l2vkit.labs.series_basics`
(notebooks 01–03), :mod:`~l2vkit.labs.series_steering` (04–07) and :mod:`~l2vkit.labs.mode` (the fast lab mode).
"""
from __future__ import annotations

from .checking import NOT_DONE, NOT_IMPLEMENTED, CheckFailed, attempt
from .hellinger import check_hellinger, check_kl, check_weighted_target
from .mode import FAST_ENV, fast_mode
from .new_concept import check_concept, check_contrast_pair, check_judge, check_reads_target
from .rho_ot import check_cost_matrix, check_rho_ot_step, check_sinkhorn
from .series_basics import check_euler_step, check_renormalise, check_token_cosine, check_x0_estimate
from .series_steering import check_latent_frames, check_spearman, check_steered_condition, check_window_steps

__all__ = [
    "FAST_ENV",
    "NOT_DONE",
    "attempt",
    "check_concept",
    "check_contrast_pair",
    "check_cost_matrix",
    "check_euler_step",
    "check_hellinger",
    "check_judge",
    "check_kl",
    "check_reads_target",
    "check_latent_frames",
    "check_renormalise",
    "check_rho_ot_step",
    "check_sinkhorn",
    "check_spearman",
    "check_steered_condition",
    "check_token_cosine",
    "check_weighted_target",
    "check_window_steps",
    "check_x0_estimate",
    "fast_mode",
]
