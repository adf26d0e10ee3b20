r"""The 1-D optimal-transport plans behind the ρ-OT coupling: the cost, the entropic plan and the exact sorted plan.

Each projection gives one 1-D problem: scalars :math:`a_i` (branch 1, ``N1`` of them) and :math:`b_j` (branch 2,
``N2``), cost :math:`M_{ij} = (a_i - b_j)^2` (:func:`cost_matrix`) and uniform marginals. Two solvers give the plan
:math:`T` (rows sum to :math:`1/N_1`, columns to :math:`1/N_2`):

- **entropic** (:func:`sinkhorn_log`): :math:`T \propto \exp(-M/\varsigma)` scaled to the marginals by a few
  log-domain Sinkhorn steps; differentiable, dense ``N1 × N2``.
- **sorted** (:func:`sorted_plan_1d`): the exact plan, the monotone matching of the sorted values, as a sparse list
  of at most ``N1 + N2 - 1`` entries (:func:`dense_plan_from_sparse` makes it dense for tests and small N).

Merging tokens with these plans over ``P`` projections is :mod:`l2vkit.coupling.transport`'s job. This module needs
torch only; POT (``ot``) is used by the tests and benchmarks as the reference, never here.
"""
from __future__ import annotations

import functools
import math
import numbers
import warnings
from dataclasses import dataclass, field

import torch


@dataclass
class SinkhornInfo:
    """What :func:`sinkhorn_log` did.

    Attributes
    ----------
    iterations : int
        Sinkhorn iterations run (one iteration = one row and one column update).
    converged : bool or None
        ``marginal_error < tol``; ``None`` when no ``tol`` was given (a fixed number of "partial" steps).
    marginal_error : float
        Largest L1 violation of the row marginals over all problems in the batch (columns are exact after the last
        column update). Without ``tol`` it is computed on first access, so the training path pays neither the extra
        pass over the plan nor a device sync.
    """

    iterations: int
    converged: bool | None
    _error: object = field(repr=False, compare=False)  # a float, or a callable computing it on first access

    @property
    def marginal_error(self) -> float:
        if callable(self._error):
            self._error = self._error()
        return self._error

    def __repr__(self) -> str:
        return (f"SinkhornInfo(iterations={self.iterations}, marginal_error={self.marginal_error:.3g}, "
                f"converged={self.converged})")


def check_finite(name: str, x: torch.Tensor) -> None:
    """Raise ``ValueError`` naming ``name`` when ``x`` holds NaN or infinite values (input validation)."""
    if x.device.type != "meta" and not torch.isfinite(x).all():  # meta tensors (memory plans) hold no values
        bad = "NaN" if torch.isnan(x).any() else "infinite values"
        raise ValueError(f"{name} contains {bad}; it must hold finite numbers only")


def cost_matrix(a: torch.Tensor, b: torch.Tensor, *, normalise: bool = True) -> torch.Tensor:
    r"""Squared-difference cost between two batches of 1-D point sets.

    .. math::

        M_{ij} = (a_i - b_j)^2, \qquad \text{normalised: } M / \max(\overline{M}, \epsilon)

    where :math:`\overline{M}` is the mean cost of each problem. Normalising makes the entropic regularisation
    :math:`\varsigma` scale-free (the same ``reg`` means the same blur whatever the spread of the projections). The
    normaliser stays in the autograd graph; :math:`\epsilon` is the dtype's smallest normal number, which only matters
    when all points coincide (then :math:`M = 0`).

    Parameters
    ----------
    a : Tensor, shape (..., N1)
    b : Tensor, shape (..., N2)
        Leading dimensions must broadcast.
    normalise : bool
        Divide by the mean cost of each problem.

    Returns
    -------
    Tensor, shape (..., N1, N2)

    Examples
    --------
    >>> cost_matrix(torch.tensor([0., 1.]), torch.tensor([0., 2.]), normalise=False)
    tensor([[0., 4.],
            [1., 1.]])
    >>> cost_matrix(torch.tensor([0., 1.]), torch.tensor([0., 2.])).mean()
    tensor(1.)
    """
    M = (a.unsqueeze(-1) - b.unsqueeze(-2)).square()
    if normalise:
        M = M / M.mean(dim=(-2, -1), keepdim=True).clamp_min(torch.finfo(M.dtype).tiny)
    return M


def _log_weights(w: torch.Tensor | None, n: int, like: torch.Tensor, name: str) -> torch.Tensor:
    """Log marginal weights, uniform when ``w`` is None."""
    if w is None:
        return torch.full((n,), -math.log(n), dtype=like.dtype, device=like.device)
    if w.shape[-1] != n:
        raise ValueError(f"{name} has {w.shape[-1]} weights but the cost matrix has {n} along that side")
    check_finite(name, w)
    if (w < 0).any():
        raise ValueError(f"{name} has negative weights; marginals must be non-negative")
    return w.to(like.dtype).log()


def sinkhorn_log(M: torch.Tensor, reg: float, *, n_iter: int = 10, tol: float | None = None,
                 a: torch.Tensor | None = None, b: torch.Tensor | None = None):
    r"""Batched log-domain Sinkhorn: the entropic plan :math:`T = \exp(f_i - M_{ij}/\varsigma + g_j)`.

    Solves :math:`\min_T \langle T, M\rangle - \varsigma H(T)` subject to :math:`T\mathbf 1 = a`,
    :math:`T^\top \mathbf 1 = b` (the same convention as ``ot.sinkhorn(a, b, M, reg)``) by alternating

    .. math::

        f \leftarrow \log a - \operatorname{LSE}_j(-M_{ij}/\varsigma + g_j), \qquad
        g \leftarrow \log b - \operatorname{LSE}_i(-M_{ij}/\varsigma + f_i).

    Everything stays in log space, so ``reg`` as small as 1e-4 gives no overflow and no NaN. Gradients flow by
    autograd through the iterations (unrolled; a few steps, ``n_iter`` ≈ 10, is the "partial" Sinkhorn of training).
    After any number of iterations the columns hold their marginals exactly (the last update is the column one), so
    :math:`N_2 T^\top z_1` is always a convex combination; the rows converge with the iterations.

    Convergence slows as ``reg`` shrinks (of the order of :math:`1/\varsigma` iterations) and is slowest when
    ``N1 == N2``: the plan tends to a permutation, whose blocks the kernel barely couples. On the normalised cost,
    some 7 × 7 problems at ``reg=0.05`` need over :math:`10^5` iterations to reach a marginal error of 1e-12 (POT's
    ``ot.sinkhorn`` alike), while 5 × 9 ones need a few hundred. For the exact small-``reg`` limit use
    :func:`sorted_plan_1d`.

    Parameters
    ----------
    M : Tensor, shape (..., N1, N2)
        Cost; leading dimensions are independent problems.
    reg : float
        Entropic regularisation :math:`\varsigma > 0`.
    n_iter : int
        Maximum number of iterations.
    tol : float, optional
        Stop early once the marginal error (see :class:`SinkhornInfo`) is below ``tol``; checked every 10 iterations
        and after the last one. A warning is issued if it is not reached within ``n_iter``.
    a, b : Tensor, shape (..., N1) and (..., N2), optional
        Marginal weights (each summing to the same total); uniform :math:`1/N_1`, :math:`1/N_2` by default.

    Returns
    -------
    log_T : Tensor, shape (..., N1, N2)
        Log of the plan.
    info : SinkhornInfo

    Examples
    --------
    >>> M = cost_matrix(torch.tensor([0., 1.]), torch.tensor([0.1, 0.9]))
    >>> log_T, info = sinkhorn_log(M, 0.01, n_iter=50, tol=1e-9)
    >>> log_T.exp().mul(2).round(decimals=3)
    tensor([[1., 0.],
            [0., 1.]])
    >>> info.converged
    True
    """
    if not (isinstance(reg, numbers.Real) and math.isfinite(reg) and reg > 0):
        raise ValueError(f"reg must be a finite number > 0, got {reg!r}")
    if M.ndim < 2:
        raise ValueError(f"M must have shape (..., N1, N2), got {tuple(M.shape)}")
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}")
    check_finite("M", M)
    N1, N2 = M.shape[-2:]
    log_a = _log_weights(a, N1, M, "a")
    log_b = _log_weights(b, N2, M, "b")
    if a is not None or b is not None:
        sa, sb = log_a.exp().sum(-1), log_b.exp().sum(-1)
        if not torch.allclose(sa, sb, rtol=1e-6, atol=0):
            raise ValueError("a and b must have the same total mass (a.sum() == b.sum() for each problem)")
    K = -M / reg
    g = M.new_zeros(M.shape[:-2] + (N2,))
    err, converged, it = float("nan"), None, 0
    for it in range(1, n_iter + 1):
        f = log_a - torch.logsumexp(K + g.unsqueeze(-2), dim=-1)
        g = log_b - torch.logsumexp(K + f.unsqueeze(-1), dim=-2)
        # Checking costs one more pass over the plan (and a device sync), so only every 10 iterations, like POT.
        if tol is not None and (it % 10 == 0 or it == n_iter):
            err = _row_error(K, f, g, log_a)
            if err < tol:
                converged = True
                break
    log_T = K + f.unsqueeze(-1) + g.unsqueeze(-2)
    if tol is None:
        err = functools.partial(_row_error, K.detach(), f.detach(), g.detach(), log_a)
    elif converged is None:
        converged = False
        warnings.warn(f"sinkhorn_log did not converge: marginal error {err:.3g} > tol {tol:.3g} after {it} "
                      "iterations; increase n_iter or reg", RuntimeWarning, stacklevel=2)
    return log_T, SinkhornInfo(iterations=it, converged=converged, _error=err)


@torch.no_grad()
def _row_error(K, f, g, log_a) -> float:
    """Largest L1 row-marginal violation over the batch."""
    rows = torch.logsumexp(K + g.unsqueeze(-2), dim=-1) + f
    return (rows.exp() - log_a.exp()).abs().sum(-1).max().item()


def _rank_segments(N1: int, N2: int, device=None):
    r"""North-west-corner plan between two *sorted* uniform measures, in rank space.

    On the integer grid :math:`[0, N_1 N_2]` the cumulative masses of the sorted points are the breakpoints
    :math:`i N_2` (branch 1) and :math:`j N_1` (branch 2). Between consecutive breakpoints of their union, mass flows
    from one rank of each side; exact integer arithmetic, at most :math:`N_1 + N_2 - 1` segments.
    """
    cuts = torch.cat([torch.arange(1, N1 + 1, device=device) * N2, torch.arange(1, N2 + 1, device=device) * N1])
    cuts = torch.unique(cuts)  # sorted; shared breakpoints (multiples of lcm) appear once
    starts = torch.cat([cuts.new_zeros(1), cuts[:-1]])
    return starts // N2, starts // N1, (cuts - starts).double() / (N1 * N2)


def sorted_plan_1d(a: torch.Tensor, b: torch.Tensor):
    r"""Exact 1-D optimal plan between uniform point sets, as a sparse list of entries.

    For any convex cost :math:`c(a_i - b_j)` (here :math:`(a_i - b_j)^2`) the monotone matching is optimal: sort both
    sides and fill the plan by the north-west-corner rule on the cumulative weights :math:`k/N_1`, :math:`l/N_2`. The
    rank pattern depends only on ``(N1, N2)``; the data enter only through ``argsort``, so leading dimensions are
    batched. Ties are broken by a stable sort (any tie-breaking is optimal, but the plan is then not unique).

    Parameters
    ----------
    a : Tensor, shape (..., N1)
    b : Tensor, shape (..., N2)
        Same leading dimensions.

    Returns
    -------
    rows, cols : Tensor (long), shape (..., K)
        Indices into ``a`` and ``b``; ``K <= N1 + N2 - 1``.
    weights : Tensor, shape (..., K)
        Transported mass (sums to 1 per problem), in the dtype of ``a`` (float64 for integer inputs).

    Examples
    --------
    >>> rows, cols, w = sorted_plan_1d(torch.tensor([0., 2.]), torch.tensor([3., 1., 2.]))
    >>> rows.tolist(), cols.tolist(), (w * 6).round().tolist()
    ([0, 0, 1, 1], [1, 2, 2, 0], [2.0, 1.0, 1.0, 2.0])
    """
    if a.shape[:-1] != b.shape[:-1]:
        raise ValueError(f"leading dimensions differ: a {tuple(a.shape)}, b {tuple(b.shape)}")
    check_finite("a", a)
    check_finite("b", b)
    N1, N2 = a.shape[-1], b.shape[-1]
    r, c, w = _rank_segments(N1, N2, a.device)
    sa = torch.argsort(a, dim=-1, stable=True)
    sb = torch.argsort(b, dim=-1, stable=True)
    lead = a.shape[:-1]
    rows = sa.gather(-1, r.expand(*lead, -1))
    cols = sb.gather(-1, c.expand(*lead, -1))
    dtype = a.dtype if a.is_floating_point() else torch.float64
    return rows, cols, w.to(dtype).expand(*lead, -1)


def dense_plan_from_sparse(rows: torch.Tensor, cols: torch.Tensor, weights: torch.Tensor, N1: int,
                           N2: int) -> torch.Tensor:
    """Dense ``(..., N1, N2)`` plan from the sparse entries of :func:`sorted_plan_1d` (for tests and small N).

    Examples
    --------
    >>> dense_plan_from_sparse(*sorted_plan_1d(torch.tensor([1., 0.]), torch.tensor([0., 1.])), 2, 2)
    tensor([[0.0000, 0.5000],
            [0.5000, 0.0000]])
    """
    T = weights.new_zeros(rows.shape[:-1] + (N1 * N2,))
    return T.scatter_add(-1, rows * N2 + cols, weights).reshape(rows.shape[:-1] + (N1, N2))
