"""Active-set polishing (runtime/polish.py): stragglers end early, and what polishing returns is
the solution (analytic where known, else Clarabel's) with the same gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from optlayer.runtime import SolverOptions, Status, solve_qp

STRAGGLER = 3


def weakly_inactive_batch(dtype=torch.float64):
    """16 QPs whose solution is the unconstrained minimizer x0 (every constraint inactive); in
    element STRAGGLER one constraint has slack 1e-3 there, in the others all slacks are >= 1.
    The near-active pair slows the interior-point end game of that element only."""
    g = torch.Generator().manual_seed(0)
    B, n, m = 16, 10, 10
    F = torch.randn(B, n, n, generator=g, dtype=torch.float64)
    Q = F.mT @ F / n + 0.1 * torch.eye(n, dtype=torch.float64)
    G = torch.randn(B, m, n, generator=g, dtype=torch.float64)
    x0 = torch.randn(B, n, generator=g, dtype=torch.float64)
    h = (G @ x0.unsqueeze(-1)).squeeze(-1) + 1.0
    h[STRAGGLER, 0] -= 1.0 - 1e-3
    q = -(Q @ x0.unsqueeze(-1)).squeeze(-1)
    return tuple(t.to(dtype) for t in (Q, q, G, h)), x0


def test_weakly_inactive_constraint_ends_early_at_the_solution():
    (Q, q, G, h), x0 = weakly_inactive_batch()
    plain = solve_qp(Q, q, G, h, options=SolverOptions(polish=False))
    polished = solve_qp(Q, q, G, h)
    assert (polished.status == int(Status.SOLVED)).all()
    assert polished.iterations[STRAGGLER] < plain.iterations[STRAGGLER] - 1
    assert polished.iterations.max() < plain.iterations.max()
    torch.testing.assert_close(polished.z, x0, rtol=0, atol=1e-9)
    assert polished.lam.abs().max() < 1e-9


def test_polished_gradients_are_the_analytic_ones():
    """Every constraint is inactive, so x* = −Q⁻¹q and the gradient of w·x* in q is −Q⁻¹w. The
    plain iteration stops with the near-active pair still holding λ ≈ 2e-9 and its gradient off
    by about 3e-4; the polished solution has the exact active set, and so the exact gradient."""
    (Q, q, G, h), _ = weakly_inactive_batch()
    w = torch.linspace(-1, 1, Q.shape[-1], dtype=torch.float64).expand_as(q)
    q_in = q.clone().requires_grad_()
    z = solve_qp(Q, q_in, G, h).z
    (grad,) = torch.autograd.grad((z * w).sum(), q_in)
    torch.testing.assert_close(grad, -torch.linalg.solve(Q, w), rtol=1e-8, atol=1e-9)


def _polished_elements(data):
    """Indices of the elements that polishing finished earlier than the plain iteration."""
    plain = solve_qp(*data, options=SolverOptions(polish=False))
    polished = solve_qp(*data)
    assert (plain.status == int(Status.SOLVED)).all() and (polished.status == int(Status.SOLVED)).all()
    return (polished.iterations < plain.iterations).nonzero().squeeze(1).tolist(), plain, polished


def test_polished_elements_with_active_constraints_match_clarabel(make_qp, reference_solution):
    Q, q, G, h, A, b = make_qp(10, 10, 3, batch=(64,), seed=4)
    faster, plain, polished = _polished_elements((Q, q, G, h, A, b))
    assert faster, "no element was polished: the test no longer exercises polishing"
    active_seen = False
    for i in faster:
        z, lam, nu, _ = reference_solution(Q[i], q[i], G[i], h[i], A[i], b[i])
        np.testing.assert_allclose(polished.z[i].numpy(), z, atol=1e-7)
        np.testing.assert_allclose(polished.lam[i].numpy(), lam, atol=1e-7)
        np.testing.assert_allclose(polished.nu[i].numpy(), nu, atol=1e-7)
        active_seen |= bool((polished.lam[i] > 1e-3).any())
        torch.testing.assert_close(polished.z[i], plain.z[i], rtol=0, atol=1e-8)
    assert active_seen


def test_polished_gradients_match_the_plain_iteration(make_qp):
    data = make_qp(10, 10, 3, batch=(64,), seed=4)
    faster, _, _ = _polished_elements(data)
    grads = []
    for polish in (False, True):
        inputs = [t.clone().requires_grad_() for t in data]
        z = solve_qp(*inputs, options=SolverOptions(polish=polish)).z
        w = torch.linspace(-1, 1, z.shape[-1], dtype=z.dtype)
        grads.append(torch.autograd.grad((z * w).sum(), inputs))
    for name, g_plain, g_polished in zip("QqGhAb", *grads):
        torch.testing.assert_close(g_polished[faster], g_plain[faster], rtol=1e-5, atol=1e-6, msg=name)


def test_float32_straggler_is_polished_too():
    """At float32's default tolerance every element stops before half the batch has; at 3e-7 the
    straggler is polished, and lands on x0 where the plain iteration stops 1.6e-3 away."""
    (Q, q, G, h), x0 = weakly_inactive_batch(torch.float32)
    tight = dict(retry_in_float64=False, eps_abs=3e-7, eps_rel=3e-7)
    plain = solve_qp(Q, q, G, h, options=SolverOptions(polish=False, **tight))
    polished = solve_qp(Q, q, G, h, options=SolverOptions(**tight))
    assert (polished.status == int(Status.SOLVED)).all()
    assert polished.iterations[STRAGGLER] < plain.iterations[STRAGGLER]
    torch.testing.assert_close(polished.z[STRAGGLER], x0[STRAGGLER].float(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_polish_option_must_be_a_bool(value):
    with pytest.raises(ValueError, match="polish"):
        SolverOptions(polish=value).resolved(torch.float64)
