"""ρ-OT solvers (l2vkit.coupling.transport) against POT, the reference implementation."""
import math

import numpy as np
import ot
import pytest
import torch

from l2vkit.coupling.transport import (
    _transport_permutation,
    _transport_sparse,
    cost_matrix,
    dense_plan_from_sparse,
    entropic_transport,
    sinkhorn_log,
    sorted_plan_1d,
    sorted_transport,
)

pytestmark = pytest.mark.unit

SIZES = [(7, 7), (5, 9), (9, 5)]


def _points(seed, n1, n2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n1), rng.normal(size=n2) * 1.5 + 0.3  # continuous: no ties


def _uniform(n):
    return np.full(n, 1.0 / n)


# Seeds whose 7 × 7 problems converge within 5,000 iterations at reg=0.05: with N1 == N2 the plan tends to a
# permutation and Sinkhorn (ours and POT's) can need over 10^5 iterations (e.g. seeds 1, 3, 4), so the two solvers
# would be compared at different unconverged iterates. Unequal sizes converge in a few hundred for any seed.
@pytest.mark.parametrize("seed", [0, 2, 5])
@pytest.mark.parametrize("n1,n2", SIZES)
@pytest.mark.parametrize("reg", [0.05, 0.5])
def test_sinkhorn_matches_pot(seed, n1, n2, reg):
    xa, xb = _points(seed, n1, n2)
    M = cost_matrix(torch.from_numpy(xa), torch.from_numpy(xb))
    log_T, info = sinkhorn_log(M, reg, n_iter=5000, tol=1e-12)
    ref, log = ot.sinkhorn(_uniform(n1), _uniform(n2), M.numpy(), reg, numItermax=100000, stopThr=1e-14, log=True)
    assert info.converged and info.marginal_error < 1e-12 and log["niter"] < 100000 - 1
    np.testing.assert_allclose(log_T.exp().numpy(), ref, rtol=0, atol=1e-5)
    # Much tighter than the contract: both solve the same problem to machine precision.
    np.testing.assert_allclose(log_T.exp().numpy(), ref, rtol=0, atol=1e-10)


def test_sinkhorn_with_weights_matches_pot():
    rng = np.random.default_rng(3)
    xa, xb = _points(3, 6, 8)
    wa, wb = rng.random(6), rng.random(8)
    wa, wb = wa / wa.sum(), wb / wb.sum()
    M = cost_matrix(torch.from_numpy(xa), torch.from_numpy(xb))
    log_T, _ = sinkhorn_log(M, 0.1, n_iter=5000, tol=1e-12, a=torch.from_numpy(wa), b=torch.from_numpy(wb))
    ref = ot.sinkhorn(wa, wb, M.numpy(), 0.1, numItermax=100000, stopThr=1e-14)
    np.testing.assert_allclose(log_T.exp().numpy(), ref, rtol=0, atol=1e-10)


def test_sinkhorn_batched_equals_one_by_one():
    torch.manual_seed(0)
    M = cost_matrix(torch.randn(2, 3, 6, dtype=torch.float64), torch.randn(2, 3, 4, dtype=torch.float64))
    log_T, _ = sinkhorn_log(M, 0.2, n_iter=30)
    for i in range(2):
        for p in range(3):
            single, _ = sinkhorn_log(M[i, p], 0.2, n_iter=30)
            torch.testing.assert_close(log_T[i, p], single)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("n1,n2", [(5, 9), (9, 5)])
def test_tiny_reg_converges_to_the_exact_plan(seed, n1, n2):
    xa, xb = _points(seed, n1, n2)
    a, b = torch.from_numpy(xa), torch.from_numpy(xb)
    M = cost_matrix(a, b)
    log_T, info = sinkhorn_log(M, 1e-4, n_iter=60000, tol=1e-10)  # of the order of 1/reg iterations
    T = log_T.exp()
    assert info.converged and not torch.isnan(log_T).any() and torch.isfinite(T).all()
    torch.testing.assert_close(T.sum(1), torch.full((n1,), 1 / n1, dtype=T.dtype), rtol=0, atol=1e-10)
    torch.testing.assert_close(T.sum(0), torch.full((n2,), 1 / n2, dtype=T.dtype), rtol=0, atol=1e-12)
    exact = dense_plan_from_sparse(*sorted_plan_1d(a, b), n1, n2)
    # Entropic suboptimality is at most reg · log(N1 N2); the plan itself is within 1e-3 of the exact one.
    assert -1e-9 <= (T * M).sum() - (exact * M).sum() <= 1e-4 * np.log(n1 * n2)  # -1e-9: marginals to 1e-10
    assert (T - exact).abs().max() < 1e-3
    errs = [(sinkhorn_log(M, r, n_iter=5000)[0].exp() - exact).abs().sum().item() for r in (0.5, 0.05, 0.005)]
    assert errs[0] > errs[1] > errs[2] > (T - exact).abs().sum().item()


def test_tiny_reg_equal_sizes_is_stable():
    """N1 == N2 converges slowly at tiny reg (see sinkhorn_log), but stays finite with exact columns."""
    xa, xb = _points(0, 7, 7)
    a, b = torch.from_numpy(xa), torch.from_numpy(xb)
    M = cost_matrix(a, b)
    log_T, info = sinkhorn_log(M, 1e-4, n_iter=20000)
    T = log_T.exp()
    assert not torch.isnan(log_T).any() and torch.isfinite(T).all() and math.isfinite(info.marginal_error)
    torch.testing.assert_close(T.sum(0), torch.full((7,), 1 / 7, dtype=T.dtype), rtol=0, atol=1e-12)
    row_error = (T.sum(1) - 1 / 7).abs().sum().item()
    assert row_error == pytest.approx(info.marginal_error, abs=1e-12) and row_error < 1e-3
    assert (T - dense_plan_from_sparse(*sorted_plan_1d(a, b), 7, 7)).abs().max() < 1e-3


def test_tiny_reg_float32_finite_with_gradient():
    torch.manual_seed(1)
    a = torch.randn(2, 3, 16, requires_grad=True)
    b = torch.randn(2, 3, 16, requires_grad=True)
    log_T, _ = sinkhorn_log(cost_matrix(a, b), 1e-4, n_iter=10)
    T = log_T.exp()
    assert torch.isfinite(T).all()
    torch.testing.assert_close(T.sum(-2), torch.full((2, 3, 16), 1 / 16))  # columns exact after the last update
    (T * torch.randn_like(T)).sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_unconverged_tol_warns_like_pot():
    M = cost_matrix(torch.randn(20, dtype=torch.float64), torch.randn(20, dtype=torch.float64))
    with pytest.warns(RuntimeWarning, match="did not converge"):
        _, info = sinkhorn_log(M, 1e-3, n_iter=3, tol=1e-14)
    assert info.converged is False and info.iterations == 3 and info.marginal_error > 1e-14
    _, info = sinkhorn_log(M, 1e-3, n_iter=3)
    assert info.converged is None


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n1,n2", SIZES + [(1, 4), (6, 4), (12, 8)])
def test_sorted_plan_is_exact(seed, n1, n2):
    xa, xb = _points(seed, n1, n2)
    rows, cols, w = sorted_plan_1d(torch.from_numpy(xa), torch.from_numpy(xb))
    assert rows.shape[-1] <= n1 + n2 - 1
    T = dense_plan_from_sparse(rows, cols, w, n1, n2).numpy()
    wa, wb = _uniform(n1), _uniform(n2)
    np.testing.assert_allclose(T, ot.emd_1d(xa, xb, wa, wb, metric="sqeuclidean", dense=True), rtol=0, atol=1e-12)
    np.testing.assert_allclose(T, ot.emd(wa, wb, ot.dist(xa[:, None], xb[:, None])), rtol=0, atol=1e-12)


def test_sorted_plan_batched_equals_one_by_one():
    torch.manual_seed(2)
    a, b = torch.randn(2, 3, 5, dtype=torch.float64), torch.randn(2, 3, 9, dtype=torch.float64)
    rows, cols, w = sorted_plan_1d(a, b)
    dense = dense_plan_from_sparse(rows, cols, w, 5, 9)
    for i in range(2):
        for p in range(3):
            torch.testing.assert_close(dense[i, p], dense_plan_from_sparse(*sorted_plan_1d(a[i, p], b[i, p]), 5, 9))


def _dense_merge(z1, a, b):
    """N2 · mean_p T_pᵀ z1 with dense exact plans: the definition, for small sizes."""
    n1, n2 = a.shape[-1], b.shape[-1]
    T = dense_plan_from_sparse(*sorted_plan_1d(a, b), n1, n2).to(z1.dtype)  # (B, P, N1, N2)
    return n2 * torch.einsum("bpij,bid->bjd", T, z1) / a.shape[1]


@pytest.mark.parametrize("n1,n2", SIZES)
def test_sorted_transport_equals_dense_plan(n1, n2):
    g = torch.Generator().manual_seed(5)
    z1 = torch.randn(2, n1, 4, generator=g, dtype=torch.float64)
    a = torch.randn(2, 6, n1, generator=g, dtype=torch.float64)
    b = torch.randn(2, 6, n2, generator=g, dtype=torch.float64)
    out = sorted_transport(z1, a, b)
    torch.testing.assert_close(out, _dense_merge(z1, a, b), rtol=0, atol=1e-12)
    torch.testing.assert_close(sorted_transport(z1, a, b, chunk=1), out, rtol=0, atol=1e-12)
    if n1 == n2:  # the general scatter path agrees with the permutation fast path
        torch.testing.assert_close(_transport_sparse(z1, a, b, None), out, rtol=0, atol=1e-12)
        torch.testing.assert_close(_transport_permutation(z1, a, b, 2), out, rtol=0, atol=1e-12)


def test_sorted_transport_gradient_reaches_z1_only():
    torch.manual_seed(6)
    z1 = torch.randn(1, 8, 3, requires_grad=True)
    a = torch.randn(1, 4, 8, requires_grad=True)
    b = torch.randn(1, 4, 11, requires_grad=True)
    sorted_transport(z1, a, b).square().sum().backward()
    assert z1.grad is not None and torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("n1,n2", [(7, 7), (5, 9)])
def test_entropic_transport_gradients_and_chunking(n1, n2):
    g = torch.Generator().manual_seed(7)
    z1 = torch.randn(2, n1, 4, generator=g, dtype=torch.float64, requires_grad=True)
    a = torch.randn(2, 5, n1, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 5, n2, generator=g, dtype=torch.float64, requires_grad=True)
    out = entropic_transport(z1, a, b, 0.05, n_iter=10)
    assert out.shape == (2, n2, 4) and torch.isfinite(out).all()
    out.square().sum().backward()
    grads = [t.grad.clone() for t in (z1, a, b)]
    for grad in grads:
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    for kw in ({"chunk": 1}, {"chunk": 2}, {"chunk": 5}, {"chunk": 2, "checkpoint": True}):
        for t in (z1, a, b):
            t.grad = None
        out_c = entropic_transport(z1, a, b, 0.05, n_iter=10, **kw)
        torch.testing.assert_close(out_c, out, rtol=0, atol=1e-12)
        out_c.square().sum().backward()
        for t, grad in zip((z1, a, b), grads):
            torch.testing.assert_close(t.grad, grad, rtol=1e-10, atol=1e-12)


def test_entropic_transport_is_a_convex_combination_and_converges_to_sorted():
    g = torch.Generator().manual_seed(8)
    z1 = torch.randn(1, 6, 3, generator=g, dtype=torch.float64)
    a = torch.randn(1, 3, 6, generator=g, dtype=torch.float64)
    b = torch.randn(1, 3, 10, generator=g, dtype=torch.float64)
    ones = entropic_transport(torch.ones_like(z1), a, b, 0.1, n_iter=3)
    torch.testing.assert_close(ones, torch.ones(1, 10, 3, dtype=torch.float64))  # columns of N2·T sum to 1
    # Coprime unequal sizes converge fast enough to compare with the exact plans at a small reg; near-ties in the
    # costs keep an entropic blur of a few 1e-3 at reg=1e-3.
    a = torch.randn(1, 3, 5, generator=g, dtype=torch.float64)
    b = torch.randn(1, 3, 8, generator=g, dtype=torch.float64)
    z1 = z1[:, :5]
    exact = sorted_transport(z1, a, b)
    far = (entropic_transport(z1, a, b, 0.1, n_iter=2000) - exact).abs().max()
    close = (entropic_transport(z1, a, b, 1e-3, n_iter=20000) - exact).abs().max()
    assert close < 2e-2 and close < far / 10


def test_bad_inputs_raise_clear_errors():
    z1, a, b = torch.randn(2, 5, 3), torch.randn(2, 4, 5), torch.randn(2, 4, 6)
    for fn in (sorted_transport, lambda *x: entropic_transport(*x, 0.1)):
        with pytest.raises(ValueError, match="batch sizes differ"):
            fn(z1, a, b[:1])
        with pytest.raises(ValueError, match="number of projections P differs"):
            fn(z1, a, b[:, :3])
        with pytest.raises(ValueError, match="z1 has 5 tokens"):
            fn(z1, a[..., :4], b)
        with pytest.raises(ValueError, match=r"expected z1 \(B, N1, D\)"):
            fn(z1[0], a, b)
        with pytest.raises(ValueError, match="a contains NaN"):
            fn(z1, a.clone().index_fill_(2, torch.tensor([1]), float("nan")), b)
        with pytest.raises(ValueError, match="b contains NaN"):
            fn(z1, a, b.clone().index_fill_(2, torch.tensor([0]), float("nan")))
        with pytest.raises(ValueError, match="b contains infinite"):
            fn(z1, a, b.clone().index_fill_(2, torch.tensor([0]), float("inf")))
    M = cost_matrix(a, b)
    for reg in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="reg must be a finite number > 0"):
            sinkhorn_log(M, reg)
        with pytest.raises(ValueError, match="reg must be"):
            entropic_transport(z1, a, b, reg)
    with pytest.raises(ValueError, match="M contains NaN"):
        sinkhorn_log(M.clone().fill_(float("nan")), 0.1)
    with pytest.raises(ValueError, match="a has 3 weights"):
        sinkhorn_log(M, 0.1, a=torch.ones(3) / 3)
    with pytest.raises(ValueError, match="same total mass"):
        sinkhorn_log(M, 0.1, a=torch.ones(5) / 5, b=torch.ones(6))
    with pytest.raises(ValueError, match="leading dimensions differ"):
        sorted_plan_1d(a, b[:1])
    with pytest.raises(ValueError, match="a contains NaN"):
        sorted_plan_1d(torch.tensor([0.0, float("nan")]), torch.tensor([1.0]))
