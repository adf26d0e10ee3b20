r"""Optimal-transport solvers behind the ρ-OT coupling (TRANSPORTER-style token merging).

Two sets of tokens, ``z1`` (branch 1, ``N1`` tokens) and branch 2 (``N2`` tokens), are each projected onto ``P``
learned unit vectors, giving one 1-D problem per projection: scalars :math:`a_i` (branch 1) and :math:`b_j`
(branch 2), cost :math:`M_{ij} = (a_i - b_j)^2` and uniform marginals. A plan :math:`T` (rows sum to
:math:`1/N_1`, columns to :math:`1/N_2`) moves branch-1 tokens onto branch-2 positions:

.. math::

    \tilde z_j = \frac{1}{P} \sum_p \sum_i N_2 \, T^{(p)}_{ij} \, z_{1,i},

so each output token is a convex combination of branch-1 tokens (column :math:`j` of :math:`N_2 T` sums to 1).

Two solvers give :math:`T`:

- **entropic** (:func:`sinkhorn_log`, :func:`entropic_transport`): :math:`T \propto \exp(-M/\varsigma)` scaled to the
  marginals by a few log-domain Sinkhorn steps. Differentiable in ``a``, ``b`` and ``z1`` (this is what training
  uses), but it holds dense ``N1 × N2`` plans: O(N²) time and memory per projection.
- **sorted** (:func:`sorted_plan_1d`, :func:`sorted_transport`): the exact 1-D plan. For a convex cost the optimal
  plan is the monotone matching of the sorted values, so it costs a sort per side, O(N log N) time and O(N·P)
  memory, and scales to tens of thousands of tokens. The permutation is piecewise constant in ``a`` and ``b``, so
  only ``z1`` receives a gradient.

The plans themselves (:func:`cost_matrix`, :func:`sinkhorn_log`, :func:`sorted_plan_1d`,
:func:`dense_plan_from_sparse`) live in :mod:`l2vkit.coupling.ot_plans` and are re-exported here; this module merges
tokens with them over the ``P`` projections. It needs torch only; POT (``ot``) is used by the tests and benchmarks as
the reference, never here.
"""
from __future__ import annotations

import torch

from .ot_plans import (SinkhornInfo, check_finite, cost_matrix, dense_plan_from_sparse, sinkhorn_log,
                       sorted_plan_1d)

__all__ = ["CHUNK_ELEMENTS", "GATHER_ELEMENTS", "SinkhornInfo", "cost_matrix", "dense_plan_from_sparse",
           "entropic_transport", "sinkhorn_log", "sorted_plan_1d", "sorted_transport"]

#: Default budget (tensor elements) of one chunk of dense plans in :func:`entropic_transport` (64 MiB in float32).
CHUNK_ELEMENTS = 2**24
#: Default budget of one chunk of gathered tokens in :func:`sorted_transport`: small, so its memory stays O(N·P)
#: integers plus the output (larger chunks were not faster on CPU).
GATHER_ELEMENTS = 2**20


def _check_transport_inputs(z1: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> None:
    if z1.ndim != 3 or a.ndim != 3 or b.ndim != 3:
        raise ValueError(f"expected z1 (B, N1, D), a (B, P, N1), b (B, P, N2); got z1 {tuple(z1.shape)}, "
                         f"a {tuple(a.shape)}, b {tuple(b.shape)}")
    if not (z1.shape[0] == a.shape[0] == b.shape[0]):
        raise ValueError(f"batch sizes differ: z1 {z1.shape[0]}, a {a.shape[0]}, b {b.shape[0]}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"number of projections P differs: a has {a.shape[1]}, b has {b.shape[1]}")
    if a.shape[2] != z1.shape[1]:
        raise ValueError(f"a has {a.shape[2]} branch-1 values per projection but z1 has {z1.shape[1]} tokens")
    if a.shape[2] == 0 or b.shape[2] == 0:
        raise ValueError("both branches need at least one token")
    check_finite("a", a)
    check_finite("b", b)


def _auto_chunk(chunk: int | None, P: int, per_projection: int, budget: int = CHUNK_ELEMENTS) -> int:
    if chunk is None:
        chunk = budget // max(per_projection, 1)
    return int(min(max(chunk, 1), P))


def entropic_transport(z1: torch.Tensor, a: torch.Tensor, b: torch.Tensor, reg: float, *, n_iter: int = 10,
                       chunk: int | None = None, normalise: bool = True, checkpoint: bool = False) -> torch.Tensor:
    r"""Merge branch-1 tokens onto branch-2 positions with entropic plans, averaged over projections.

    .. math::

        \tilde z = \frac{1}{P} \sum_p N_2 \, {T^{(p)}}^\top z_1, \qquad
        T^{(p)} = \text{sinkhorn\_log}(\text{cost\_matrix}(a_p, b_p), \varsigma)

    Projections are processed ``chunk`` at a time, so peak memory is a few ``(B, chunk, N1, N2)`` tensors rather than
    ``P`` plans. Under autograd each chunk's unrolled iterations are kept for the backward pass; ``checkpoint=True``
    recomputes them instead (``torch.utils.checkpoint``), trading time for memory.

    Parameters
    ----------
    z1 : Tensor, shape (B, N1, D)
        Branch-1 tokens.
    a : Tensor, shape (B, P, N1)
        Branch-1 projections.
    b : Tensor, shape (B, P, N2)
        Branch-2 projections.
    reg : float
        Entropic regularisation :math:`\varsigma` (on the normalised cost when ``normalise``).
    n_iter : int
        Sinkhorn iterations (fixed, no early stop: the partial Sinkhorn of training).
    chunk : int, optional
        Projections per chunk; default: as many as keep one chunk's plans within ``CHUNK_ELEMENTS`` elements.
    normalise : bool
        Passed to :func:`cost_matrix`.
    checkpoint : bool
        Recompute each chunk in the backward pass instead of storing its iterations.

    Returns
    -------
    Tensor, shape (B, N2, D)

    Examples
    --------
    >>> z1 = torch.tensor([[[1., 0.], [0., 1.]]])                    # B=1, N1=2, D=2
    >>> a, b = torch.tensor([[[0., 1.]]]), torch.tensor([[[1., 0.]]])  # P=1: swapped positions
    >>> entropic_transport(z1, a, b, 0.01, n_iter=50).round(decimals=3)
    tensor([[[0., 1.],
             [1., 0.]]])
    """
    _check_transport_inputs(z1, a, b)
    B, P, N1 = a.shape
    N2 = b.shape[-1]
    step = _auto_chunk(chunk, P, B * N1 * N2)

    def merge(z1, a_c, b_c):
        log_T, _ = sinkhorn_log(cost_matrix(a_c, b_c, normalise=normalise), reg, n_iter=n_iter)
        return torch.einsum("bpij,bid->bjd", log_T.exp(), z1.to(log_T.dtype))

    out = None
    for start in range(0, P, step):
        a_c, b_c = a[:, start:start + step], b[:, start:start + step]
        if checkpoint and torch.is_grad_enabled():
            from torch.utils.checkpoint import checkpoint as recompute

            part = recompute(merge, z1, a_c, b_c, use_reentrant=False)
        else:
            part = merge(z1, a_c, b_c)
        out = part if out is None else out + part
    return out * (N2 / P)


def _transport_permutation(z1: torch.Tensor, a: torch.Tensor, b: torch.Tensor, chunk: int | None) -> torch.Tensor:
    """N1 == N2: the plan is a permutation, z̃[argsort(b)[k]] = z1[argsort(a)[k]]; gathers only."""
    B, P, N = a.shape
    sa = torch.argsort(a, dim=-1, stable=True)
    sb = torch.argsort(b, dim=-1, stable=True)
    # src[j] = index of the branch-1 token sent to branch-2 position j: O(N·P) integers.
    src = torch.empty_like(sa).scatter_(-1, sb, sa)
    step = _auto_chunk(chunk, P, B * N * z1.shape[-1], GATHER_ELEMENTS)
    out = None
    for start in range(0, P, step):
        idx = src[:, start:start + step].reshape(B, -1)  # (B, chunk·N)
        part = z1.gather(1, idx.unsqueeze(-1).expand(-1, -1, z1.shape[-1]))
        part = part.reshape(B, -1, N, z1.shape[-1]).sum(1)
        out = part if out is None else out + part
    return out / P


def _transport_sparse(z1: torch.Tensor, a: torch.Tensor, b: torch.Tensor, chunk: int | None) -> torch.Tensor:
    """General N1, N2: scatter-add the sparse plan's entries, N2·w·z1[row] into position col."""
    B, P, N1 = a.shape
    N2, D = b.shape[-1], z1.shape[-1]
    rows, cols, w = sorted_plan_1d(a, b)  # (B, P, K)
    w = w.to(z1.dtype)
    K = rows.shape[-1]
    step = _auto_chunk(chunk, P, B * K * D, GATHER_ELEMENTS)
    out = z1.new_zeros(B, N2, D)
    for start in range(0, P, step):
        r = rows[:, start:start + step].reshape(B, -1)
        c = cols[:, start:start + step].reshape(B, -1, 1).expand(-1, -1, D)
        vals = z1.gather(1, r.unsqueeze(-1).expand(-1, -1, D)) * w[:, start:start + step].reshape(B, -1, 1)
        out = out.scatter_add(1, c, vals)
    return out * (N2 / P)


def sorted_transport(z1: torch.Tensor, a: torch.Tensor, b: torch.Tensor, *, chunk: int | None = None) -> torch.Tensor:
    r"""Merge branch-1 tokens onto branch-2 positions with the exact 1-D plans, averaged over projections.

    Same contract as :func:`entropic_transport` (:math:`\tilde z = \frac1P \sum_p N_2 {T^{(p)}}^\top z_1`) with
    :math:`T^{(p)}` the exact sorted plan of :func:`sorted_plan_1d`: O(N log N) time and O(N·P) memory, no dense
    plan. When ``N1 == N2`` the plan is a permutation and the merge is a pure gather,
    :math:`\tilde z_{\sigma_b(k)} = z_{1,\sigma_a(k)}` with :math:`\sigma` the argsorts; otherwise the sparse plan is
    scatter-added.

    Differentiable with respect to ``z1`` only: the plan is piecewise constant in ``a`` and ``b``, so the projections
    receive no gradient through this solver (training uses :func:`entropic_transport`; this one is for inference at
    token counts where dense plans do not fit).

    Parameters
    ----------
    z1 : Tensor, shape (B, N1, D)
    a : Tensor, shape (B, P, N1)
    b : Tensor, shape (B, P, N2)
    chunk : int, optional
        Projections gathered at a time (bounds the ``(B, chunk·N, D)`` temporaries); default from
        ``GATHER_ELEMENTS``.

    Returns
    -------
    Tensor, shape (B, N2, D)

    Examples
    --------
    >>> z1 = torch.tensor([[[1., 0.], [0., 1.]]])
    >>> sorted_transport(z1, torch.tensor([[[0., 1.]]]), torch.tensor([[[1., 0.]]]))
    tensor([[[0., 1.],
             [1., 0.]]])
    """
    _check_transport_inputs(z1, a, b)
    if a.shape[-1] == b.shape[-1]:
        return _transport_permutation(z1, a, b, chunk)
    return _transport_sparse(z1, a, b, chunk)
