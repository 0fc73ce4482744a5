"""Gradients: gradcheck, degenerate solutions, broadcasting, failed elements, cvxpylayers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optlayer.runtime import Status, solve_qp

TIGHT = dict(eps_abs=1e-12, eps_rel=1e-12)
F64 = torch.float64


def _layer(m, p):
    """solve_qp as a function of all six inputs, returning every differentiable output."""

    def f(Q, q, G, h, A, b):
        res = solve_qp(Q, q, G if m else None, h if m else None, A if p else None, b if p else None, **TIGHT)
        return res.z, res.lam, res.nu

    return f


@pytest.mark.parametrize(
    "n,m,p,batch",
    [(4, 3, 2, ()), (4, 5, 0, ()), (4, 0, 2, ()), (3, 0, 0, ()), (3, 4, 1, (2,))],
    ids=["mixed", "inequality-only", "equality-only", "unconstrained", "batched"],
)
def test_gradcheck_all_inputs(n, m, p, batch, make_qp):
    data = [t.clone().requires_grad_() for t in make_qp(n, m, p, batch=batch, seed=40 + n + m + p)]
    fast = bool(batch)
    assert torch.autograd.gradcheck(_layer(m, p), data, eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=fast)


def test_gradcheck_with_broadcast_inputs(make_qp):
    Q, q, G, h, A, b = make_qp(3, 4, 1, seed=45)
    gen = torch.Generator().manual_seed(0)
    q2 = (q + 0.3 * torch.randn(2, 3, dtype=F64, generator=gen)).requires_grad_()
    h2 = (h + torch.rand(2, 4, dtype=F64, generator=gen)).requires_grad_()
    inputs = [Q.requires_grad_(), q2, G.requires_grad_(), h2, A.requires_grad_(), b.requires_grad_()]
    assert torch.autograd.gradcheck(_layer(4, 1), inputs, eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True)


def test_shared_input_gradient_is_the_sum_over_the_batch(make_qp):
    Q, q, G, h, A, b = make_qp(5, 4, 1, seed=46)
    qs = q + torch.randn(3, 5, dtype=F64, generator=torch.Generator().manual_seed(1))
    Qb = Q.clone().requires_grad_()
    solve_qp(Qb, qs, G, h, A, b, **TIGHT).z.square().sum().backward()
    total = torch.zeros_like(Q)
    for i in range(3):
        Qi = Q.clone().requires_grad_()
        solve_qp(Qi, qs[i], G, h, A, b, **TIGHT).z.square().sum().backward()
        total += Qi.grad
    np.testing.assert_allclose(Qb.grad.numpy(), total.numpy(), atol=1e-9)


def test_failed_elements_get_zero_gradient(make_qp):
    Q, q, G, h, A, b = make_qp(4, 3, 0, batch=(3,), seed=47)
    G, h = G.clone(), h.clone()
    G[1, 1] = -G[1, 0]
    h[1, :2] = -1.0
    q = q.clone().requires_grad_()
    h = h.requires_grad_()
    Gs = G.requires_grad_()
    res = solve_qp(Q, q, Gs, h)
    assert res.status.tolist() == [Status.SOLVED, Status.INFEASIBLE, Status.SOLVED]
    res.z.nan_to_num(0.0).sum().backward()
    assert (q.grad[1] == 0).all() and (h.grad[1] == 0).all() and (Gs.grad[1] == 0).all()
    assert q.grad[0].abs().sum() > 0 and q.grad[2].abs().sum() > 0
    assert torch.isfinite(q.grad).all()


def test_gradient_at_weakly_active_constraint_is_finite_and_between_one_sided_limits():
    # min ½|z - c|² s.t. z_0 <= c_0: the unconstrained optimum lies on the boundary, so the
    # constraint is weakly active (multiplier 0 and slack 0): z_0(h) is not differentiable there.
    c = torch.tensor([1.0, 2.0], dtype=F64)
    Q = torch.eye(2, dtype=F64)
    G = torch.tensor([[1.0, 0.0]], dtype=F64)
    h = torch.tensor([1.0], dtype=F64, requires_grad=True)
    q = (-c).requires_grad_()
    res = solve_qp(Q, q, G, h, **TIGHT)
    assert int(res.status) == Status.SOLVED
    res.z[0].backward()
    assert torch.isfinite(h.grad).all() and torch.isfinite(q.grad).all()
    step = 1e-6
    below = (solve_qp(Q, q.detach(), G, h.detach() - step, **TIGHT).z[0] - res.z[0].detach()) / -step
    above = (solve_qp(Q, q.detach(), G, h.detach() + step, **TIGHT).z[0] - res.z[0].detach()) / step
    low, high = sorted((float(below), float(above)))
    assert low - 1e-6 <= float(h.grad) <= high + 1e-6
    assert -1.0 - 1e-6 <= float(q.grad[0]) <= 1e-6


def test_gradient_with_duplicated_active_constraints_is_finite():
    # Two identical active rows: the multipliers are not unique and the KKT matrix is singular.
    Q = torch.eye(2, dtype=F64)
    q = torch.tensor([-2.0, -2.0], dtype=F64, requires_grad=True)
    G = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=F64, requires_grad=True)
    h = torch.tensor([1.0, 1.0], dtype=F64, requires_grad=True)
    res = solve_qp(Q, q, G, h, **TIGHT)
    assert int(res.status) == Status.SOLVED
    (res.z.sum() + res.lam.sum()).backward()
    for grad in (q.grad, G.grad, h.grad):
        assert torch.isfinite(grad).all()
    # z = (h, -q_1) and lam_1 + lam_2 = -(h + q_0): only their sums are determined.
    np.testing.assert_allclose(q.grad.numpy(), [-1.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(h.grad.sum().item(), 0.0, atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_gradients_match_cvxpylayers(make_qp):
    cp = pytest.importorskip("cvxpy")
    cvxpylayers_torch = pytest.importorskip("cvxpylayers.torch")
    n, m, p = 6, 5, 2
    Q, q, G, h, A, b = make_qp(n, m, p, seed=48)
    F = torch.linalg.cholesky(Q).mT.contiguous()
    x = cp.Variable(n)
    params = [cp.Parameter(n), cp.Parameter((m, n)), cp.Parameter(m), cp.Parameter((p, n)), cp.Parameter(p)]
    pq, pG, ph, pA, pb = params
    objective = 0.5 * cp.sum_squares(F.numpy() @ x) + pq @ x
    problem = cp.Problem(cp.Minimize(objective), [pG @ x <= ph, pA @ x == pb])
    layer = cvxpylayers_torch.CvxpyLayer(problem, parameters=params, variables=[x])
    weights = torch.randn(n, dtype=F64, generator=torch.Generator().manual_seed(2))

    theirs = [t.clone().requires_grad_() for t in (q, G, h, A, b)]
    (z_theirs,) = layer(
        *theirs, solver_args={"solve_method": "Clarabel", "tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
    )
    (z_theirs @ weights).backward()
    ours = [t.clone().requires_grad_() for t in (q, G, h, A, b)]
    z_ours = solve_qp(Q, ours[0], ours[1], ours[2], ours[3], ours[4], **TIGHT).z
    (z_ours @ weights).backward()
    np.testing.assert_allclose(z_ours.detach().numpy(), z_theirs.detach().numpy(), atol=1e-6)
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), atol=1e-5, rtol=1e-4)
