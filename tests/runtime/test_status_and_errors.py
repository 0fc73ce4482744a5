"""Per-element status (certificates, iteration limit, bad data) and input validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optlayer.runtime import SolverOptions, Status, solve_qp

F64 = torch.float64


def t(*rows):
    return torch.tensor(rows, dtype=F64)


EYE2 = torch.eye(2, dtype=F64)
ZERO2 = torch.zeros(2, 2, dtype=F64)

INFEASIBLE = {
    "bounds": (EYE2, t(1.0, 1.0), t([-1.0, 0.0], [1.0, 0.0]), t(-1.0, 0.0), None, None),
    "equalities": (EYE2, t(1.0, 1.0), None, None, t([1.0, 1.0], [1.0, 1.0]), t(1.0, 2.0)),
    "mixed": (ZERO2, t(1.0, 1.0), -EYE2, t(0.0, 0.0), t([1.0, 1.0]), t(-1.0)),
    "lp": (ZERO2, t(1.0, 1.0), torch.cat((t([1.0, 1.0]), -EYE2)), t(-1.0, 0.0, 0.0), None, None),
}
UNBOUNDED = {
    "lp": (ZERO2, t(-1.0, 0.0), -EYE2, t(0.0, 0.0), None, None),
    "unconstrained": (torch.diag(t(1.0, 0.0)), t(0.0, -1.0), None, None, None, None),
    "equality": (ZERO2, t(-1.0, -1.0), None, None, t([1.0, -1.0]), t(0.0)),
    "singular_q": (torch.diag(t(1.0, 0.0)), t(1.0, -1.0), t([1.0, 0.0]), t(3.0), None, None),
}


@pytest.mark.parametrize("name", INFEASIBLE)
def test_primal_infeasible(name):
    res = solve_qp(*INFEASIBLE[name])
    assert int(res.status) == Status.INFEASIBLE
    assert torch.isnan(res.z).all() and torch.isnan(res.lam).all() and torch.isnan(res.nu).all()


@pytest.mark.parametrize("name", UNBOUNDED)
def test_dual_infeasible(name):
    res = solve_qp(*UNBOUNDED[name])
    assert int(res.status) == Status.DUAL_INFEASIBLE
    assert torch.isnan(res.z).all()


def test_random_unbounded_problems_are_recognised():
    """Q of rank 5 with n = 50, 50 random inequalities and 10 equalities: unbounded along the
    null space of Q. Every element must get its certificate, within 45 iterations (36 now; at the
    old eps_infeasible = 1e-6 the slowest took 55)."""
    gen = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(16, *shape, generator=gen, dtype=F64)

    F, G, z0, A = rand(5, 50), rand(50, 50), rand(50), rand(10, 50)
    h = (G @ z0.unsqueeze(-1)).squeeze(-1) + torch.rand(16, 50, generator=gen, dtype=F64)
    b = (A @ z0.unsqueeze(-1)).squeeze(-1)
    res = solve_qp(F.mT @ F / 50, rand(50), G, h, A, b)
    assert (res.status == Status.DUAL_INFEASIBLE).all()
    assert int(res.iterations.max()) <= 45


def test_mixed_batch_failure_does_not_change_others(make_qp):
    Q, q, G, h, A, b = make_qp(6, 5, 2, batch=(4,), seed=31)
    # Element 2 gets the conflicting rows g.z <= -1 and -g.z <= -1.
    G_bad, h_bad = G.clone(), h.clone()
    G_bad[2, 1] = -G_bad[2, 0]
    h_bad[2, :2] = -1.0
    res = solve_qp(Q, q, G_bad, h_bad, A, b)
    assert res.status.tolist() == [Status.SOLVED, Status.SOLVED, Status.INFEASIBLE, Status.SOLVED]
    for i in (0, 1, 3):
        alone = solve_qp(Q[i], q[i], G[i], h[i], A[i], b[i])
        np.testing.assert_allclose(res.z[i].numpy(), alone.z.numpy(), atol=1e-9)
        np.testing.assert_allclose(res.lam[i].numpy(), alone.lam.numpy(), atol=1e-9)
        assert res.iterations[i] == alone.iterations


def test_iteration_limit(make_qp):
    data = make_qp(10, 12, 2, batch=(3,), seed=32)
    res = solve_qp(*data, max_iter=2)
    assert (res.status == Status.MAX_ITER).all()
    assert (res.iterations == 2).all()
    assert torch.isnan(res.z).all() and torch.isnan(res.lam).all()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_unreachable_tolerance_stops_at_the_rounding_floor(make_qp, dtype):
    """Zero tolerances cannot be met: each element collapses onto the boundary (mu falls a
    thousandfold per iteration) while its residuals only oscillate. It must end NUMERICAL within a
    few stagnation windows, not at the iteration limit (before: 107 iterations to NaN or 200 to
    MAX_ITER; float32 then paid the same again in its float64 retry)."""
    data = [t.to(dtype) for t in make_qp(10, 15, 3, batch=(3,), seed=5)]
    res = solve_qp(*data, eps_abs=0.0, eps_rel=0.0)
    assert (res.status == Status.NUMERICAL).all()
    assert int(res.iterations.max()) <= 100
    assert torch.isnan(res.z).all()


@pytest.mark.parametrize(
    "argument, index, value",
    [
        ("q", 1, float("nan")),
        ("Q", 0, float("inf")),
        ("G", 2, float("nan")),
        ("h", 1, float("-inf")),
        ("A", 0, float("inf")),
        ("b", 2, float("nan")),
    ],
)
def test_non_finite_data_marks_only_that_element(make_qp, argument, index, value):
    data = dict(zip("QqGhAb", make_qp(5, 4, 2, batch=(3,), seed=33)))
    bad = data[argument].clone()
    bad[index].view(-1)[0] = value
    data[argument] = bad
    res = solve_qp(*data.values())
    expected = [Status.SOLVED] * 3
    expected[index] = Status.NUMERICAL
    assert res.status.tolist() == expected
    assert torch.isnan(res.z[index]).all()
    assert torch.isfinite(res.z[[i for i in range(3) if i != index]]).all()


def test_non_finite_shared_data_marks_every_element(make_qp):
    Q, q, G, h, A, b = make_qp(4, 3, 1, seed=34)
    G = G.clone()
    G[0, 0] = float("nan")
    res = solve_qp(Q, q.expand(2, 4), G, h, A, b)
    assert (res.status == Status.NUMERICAL).all()


def _shapes():
    Q = torch.eye(4, dtype=F64)
    q = torch.zeros(4, dtype=F64)
    G = torch.ones(3, 4, dtype=F64)
    h = torch.ones(3, dtype=F64)
    return Q, q, G, h


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(G=torch.ones(3, 5, dtype=F64)), "G"),
        (dict(h=torch.ones(2, dtype=F64)), "h"),
        (dict(Q=torch.ones(4, 3, dtype=F64)), "Q"),
        (dict(Q=torch.ones(4, dtype=F64)), "Q"),
        (dict(q=torch.ones(5, dtype=F64)), "q"),
        (dict(G=torch.ones(3, dtype=F64)), "G"),
        (dict(q=torch.ones(2, 4, dtype=F64), h=torch.ones(3, 3, dtype=F64)), "batch"),
    ],
)
def test_bad_shapes_raise_value_error_naming_the_argument(kwargs, name):
    Q, q, G, h = _shapes()
    args = dict(Q=Q, q=q, G=G, h=h) | kwargs
    with pytest.raises(ValueError, match="shape") as info:
        solve_qp(**args)
    assert name in str(info.value)


def test_half_a_constraint_pair_raises():
    Q, q, G, h = _shapes()
    with pytest.raises(ValueError, match="G is given but h is None"):
        solve_qp(Q, q, G)
    with pytest.raises(ValueError, match="b is given but A is None"):
        solve_qp(Q, q, b=h)


def test_q_is_required():
    with pytest.raises(ValueError, match="Q and q are required"):
        solve_qp(torch.eye(2), None)


def test_half_precision_is_refused():
    Q, q, G, h = _shapes()
    with pytest.raises(TypeError, match="half precision"):
        solve_qp(Q.half(), q, G, h)


def test_integer_inputs_use_default_dtype_and_mixed_inputs_promote():
    res = solve_qp(torch.eye(2, dtype=torch.int64), torch.tensor([1, -1]))
    assert res.z.dtype == torch.get_default_dtype()
    np.testing.assert_allclose(res.z.numpy(), [-1.0, 1.0], atol=1e-6)
    res = solve_qp(torch.eye(2, dtype=torch.float32), torch.tensor([1.0, -1.0], dtype=F64))
    assert res.z.dtype == F64


def test_mixed_devices_raise():
    with pytest.raises(ValueError, match="same device"):
        solve_qp(torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64, device="meta"))


def test_options_are_validated():
    with pytest.raises(ValueError, match="tau"):
        solve_qp(torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64), tau=1.5)
    with pytest.raises(ValueError, match="kkt"):
        solve_qp(torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64), options=SolverOptions(kkt="lu"))
    with pytest.raises(ValueError, match="retry_in_float64"):
        solve_qp(torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64), retry_in_float64="yes")
    with pytest.raises(TypeError):
        solve_qp(torch.eye(2, dtype=F64), torch.zeros(2, dtype=F64), no_such_option=1)


def test_empty_batch():
    res = solve_qp(torch.eye(3, dtype=F64), torch.zeros(0, 3, dtype=F64))
    assert res.z.shape == (0, 3) and res.status.shape == (0,)


def test_batched_constraints_with_no_rows(make_qp):
    """G and A with a batch dimension and zero rows (as a batch of unconstrained problems gives)
    used to fail to flatten ("cannot reshape tensor of 0 elements")."""
    Q, q, _, _, _, _ = make_qp(3, 0, 0, batch=(4,), seed=40)
    q = q.clone().requires_grad_()
    empty = dict(G=torch.zeros(4, 0, 3, dtype=F64), h=torch.zeros(4, 0, dtype=F64))
    empty.update(A=torch.zeros(4, 0, 3, dtype=F64), b=torch.zeros(4, 0, dtype=F64))
    res = solve_qp(Q, q, **empty)
    assert (res.status == Status.SOLVED).all()
    assert res.lam.shape == (4, 0) and res.nu.shape == (4, 0)
    expected = -torch.linalg.solve(Q, q.detach().unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(res.z.detach(), expected)
    res.z.sum().backward()
    torch.testing.assert_close(q.grad, -torch.linalg.solve(Q, torch.ones(4, 3, 1, dtype=F64)).squeeze(-1))
