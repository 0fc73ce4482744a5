"""Property-based tests on random feasible QPs (hypothesis)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from optlayer.runtime import Status, solve_qp

F64 = torch.float64
PROPERTY_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)


@st.composite
def feasible_qps(draw):
    """A random QP made feasible by construction: h = G z0 + slack, b = A z0."""
    n = draw(st.integers(1, 8))
    m = draw(st.integers(0, 10))
    p = draw(st.integers(0, n - 1))
    seed = draw(st.integers(0, 2**31 - 1))
    psd_rank = draw(st.sampled_from([None, 0, 1, n]))
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n if psd_rank is None else psd_rank, n))
    Q = F.T @ F / n + (0.1 * np.eye(n) if psd_rank is None else 0.0)
    q = rng.standard_normal(n)
    G = rng.standard_normal((m, n))
    z0 = rng.standard_normal(n)
    h = G @ z0 + rng.uniform(0.0, 1.0, m)
    A = rng.standard_normal((p, n))
    b = A @ z0
    if psd_rank is not None:
        # Bounded by a box so that singular Q and LPs keep a finite optimum.
        G = np.vstack((G, np.eye(n), -np.eye(n)))
        h = np.concatenate((h, 3 + np.abs(z0), 3 + np.abs(z0)))
    return tuple(torch.tensor(a, dtype=F64) for a in (Q, q, G, h, A, b))


def _args(Q, q, G, h, A, b):
    m, p = G.shape[0], A.shape[0]
    return Q, q, (G if m else None), (h if m else None), (A if p else None), (b if p else None)


def _objective(Q, q, z):
    return float(0.5 * z @ Q @ z + q @ z)


def _largest(t):
    return float(t.max()) if t.numel() else 0.0


def _kkt_ok(Q, q, G, h, A, b, res, tol):
    z, lam, nu = res.z, res.lam, res.nu
    scale = 1 + max(_largest(t.abs()) for t in (Q, q, G, h, A, b))
    slack = h - G @ z
    assert _largest((Q @ z + q + G.T @ lam + A.T @ nu).abs()) <= tol * scale
    assert _largest((-slack).clamp(min=0)) <= tol * scale
    assert _largest((A @ z - b).abs()) <= tol * scale
    assert _largest((lam * slack).abs()) <= tol * scale
    assert _largest(-lam) <= 0


@PROPERTY_SETTINGS
@given(feasible_qps())
def test_feasible_qps_are_solved_with_small_kkt_residuals(qp):
    res = solve_qp(*_args(*qp))
    assert int(res.status) == Status.SOLVED
    _kkt_ok(*qp, res, tol=1e-6)


@PROPERTY_SETTINGS
@given(feasible_qps(), st.floats(1e-3, 1e3))
def test_solution_is_invariant_to_objective_scaling(qp, factor):
    Q, q, G, h, A, b = qp
    tight = dict(eps_abs=1e-11, eps_rel=1e-11)
    res = solve_qp(*_args(Q, q, G, h, A, b), **tight)
    scaled = solve_qp(*_args(factor * Q, factor * q, G, h, A, b), **tight)
    assert int(res.status) == Status.SOLVED and int(scaled.status) == Status.SOLVED
    value = _objective(Q, q, res.z)
    assert abs(value - _objective(Q, q, scaled.z)) <= 1e-7 * (1 + abs(value))
    if torch.linalg.eigvalsh(Q).min() > 1e-6:
        np.testing.assert_allclose(scaled.z.numpy(), res.z.numpy(), atol=1e-6)
        np.testing.assert_allclose(scaled.lam.numpy(), factor * res.lam.numpy(), atol=1e-5 * factor)


@PROPERTY_SETTINGS
@given(feasible_qps(), st.randoms(use_true_random=False))
def test_solution_is_invariant_to_permuting_constraints(qp, random):
    Q, q, G, h, A, b = qp
    tight = dict(eps_abs=1e-11, eps_rel=1e-11)
    rows_G = list(range(G.shape[0]))
    rows_A = list(range(A.shape[0]))
    random.shuffle(rows_G)
    random.shuffle(rows_A)
    res = solve_qp(*_args(Q, q, G, h, A, b), **tight)
    perm = solve_qp(*_args(Q, q, G[rows_G], h[rows_G], A[rows_A], b[rows_A]), **tight)
    assert int(res.status) == Status.SOLVED and int(perm.status) == Status.SOLVED
    value = _objective(Q, q, res.z)
    assert abs(value - _objective(Q, q, perm.z)) <= 1e-7 * (1 + abs(value))
    if torch.linalg.eigvalsh(Q).min() > 1e-6:
        np.testing.assert_allclose(perm.z.numpy(), res.z.numpy(), atol=1e-6)


@PROPERTY_SETTINGS
@given(feasible_qps())
def test_float32_agrees_with_float64(qp):
    Q, q = qp[:2]
    res64 = solve_qp(*_args(*qp))
    res32 = solve_qp(*_args(*(t.float() for t in qp)))
    assert int(res32.status) == Status.SOLVED and res32.z.dtype == torch.float32
    value = _objective(Q, q, res64.z)
    assert abs(_objective(Q, q, res32.z.double()) - value) <= 1e-3 * (1 + abs(value))
