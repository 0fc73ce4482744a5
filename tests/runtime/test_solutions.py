"""Solutions and multipliers against cvxpy/Clarabel, for many shapes and problem classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from optlayer.runtime import Status, solve_qp

TIGHT = dict(eps_abs=1e-11, eps_rel=1e-11)
SHAPES = [(1, 0, 0), (3, 0, 0), (4, 3, 0), (5, 0, 2), (6, 4, 2), (10, 15, 3), (15, 10, 10), (20, 40, 0), (30, 12, 5)]


def _assert_matches(res, ref, atol=1e-6):
    z, lam, nu, _ = ref
    assert int(res.status) == Status.SOLVED
    np.testing.assert_allclose(res.z.numpy(), z, atol=atol, rtol=atol)
    if lam.size:
        np.testing.assert_allclose(res.lam.numpy(), lam, atol=10 * atol, rtol=10 * atol)
    if nu.size:
        np.testing.assert_allclose(res.nu.numpy(), nu, atol=10 * atol, rtol=10 * atol)


@pytest.mark.parametrize("n,m,p", SHAPES)
def test_random_qp_matches_clarabel(n, m, p, make_qp, args, reference_solution):
    qp = args(make_qp(n, m, p, seed=n * 100 + m * 10 + p))
    res = solve_qp(*qp, **TIGHT)
    assert res.z.shape == (n,) and res.lam.shape == (m,) and res.nu.shape == (p,)
    assert res.status.shape == () and res.iterations.shape == ()
    _assert_matches(res, reference_solution(*qp))


@pytest.mark.parametrize("n,m,p", [(6, 5, 2), (12, 20, 4)])
def test_batch_matches_elementwise_reference(n, m, p, make_qp, reference_solution):
    data = make_qp(n, m, p, batch=(2, 3), seed=7)
    res = solve_qp(*data, **TIGHT)
    assert res.z.shape == (2, 3, n) and res.status.shape == (2, 3) and res.iterations.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            z, lam, nu, _ = reference_solution(*[t[i, j] for t in data])
            np.testing.assert_allclose(res.z[i, j].numpy(), z, atol=1e-6)
            np.testing.assert_allclose(res.lam[i, j].numpy(), lam, atol=1e-5)
            np.testing.assert_allclose(res.nu[i, j].numpy(), nu, atol=1e-5)


def test_shared_matrices_with_batched_vectors(make_qp, reference_solution):
    Q, q, G, h, A, b = make_qp(8, 6, 2, seed=3)
    gen = torch.Generator().manual_seed(1)
    qs = q + torch.randn(4, 8, dtype=torch.float64, generator=gen)
    hs = h + torch.rand(4, 6, dtype=torch.float64, generator=gen)
    res = solve_qp(Q, qs, G, hs, A, b, **TIGHT)
    assert res.z.shape == (4, 8)
    for i in range(4):
        single = solve_qp(Q, qs[i], G, hs[i], A, b, **TIGHT)
        np.testing.assert_allclose(res.z[i].numpy(), single.z.numpy(), atol=1e-9)
        np.testing.assert_allclose(res.z[i].numpy(), reference_solution(Q, qs[i], G, hs[i], A, b)[0], atol=1e-6)


def test_broadcast_across_batch_dimensions(make_qp, reference_solution):
    Q, q, G, h, A, b = make_qp(5, 4, 1, batch=(2, 1), seed=4)
    q2 = torch.randn(1, 3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    res = solve_qp(Q, q2, G, h, A, b, **TIGHT)
    assert res.z.shape == (2, 3, 5)
    for i in range(2):
        for j in range(3):
            z = reference_solution(Q[i, 0], q2[0, j], G[i, 0], h[i, 0], A[i, 0], b[i, 0])[0]
            np.testing.assert_allclose(res.z[i, j].numpy(), z, atol=1e-6)


def test_lp(make_qp, args, reference_solution):
    qp = args(make_qp(10, 6, 3, seed=11, lp=True))
    res = solve_qp(*qp, **TIGHT)
    z, _, _, value = reference_solution(*qp)
    assert int(res.status) == Status.SOLVED
    assert abs(float(qp[1] @ res.z) - value) <= 1e-8 * max(1.0, abs(value))


def test_singular_psd_q(make_qp, args, reference_solution):
    qp = args(make_qp(12, 5, 2, seed=12, rank=3))
    value = reference_solution(*qp)[3]
    res = solve_qp(*qp, **TIGHT)
    assert int(res.status) == Status.SOLVED
    Q, q = qp[0], qp[1]
    assert abs(float(0.5 * res.z @ Q @ res.z + q @ res.z) - value) <= 1e-8 * max(1.0, abs(value))


def test_free_variables(reference_solution):
    # z[2], z[3] and z[4] do not appear in any constraint.
    Q = torch.diag(torch.tensor([1.0, 2.0, 3.0, 0.5, 1.0], dtype=torch.float64))
    q = torch.tensor([1.0, -1.0, 2.0, -3.0, 0.5], dtype=torch.float64)
    G = torch.tensor([[1.0, 1.0, 0, 0, 0]], dtype=torch.float64)
    h = torch.tensor([-1.0], dtype=torch.float64)
    _assert_matches(solve_qp(Q, q, G, h, **TIGHT), reference_solution(Q, q, G, h))


def test_redundant_and_rank_deficient_equalities(make_qp, reference_solution, kkt):
    Q, q, G, h, A, b = make_qp(8, 5, 3, seed=13)
    A2 = torch.cat((A, A[:1], A[:1] + 2 * A[1:2]), dim=0)
    b2 = torch.cat((b, b[:1], b[:1] + 2 * b[1:2]), dim=0)
    res = solve_qp(Q, q, G, h, A2, b2, **TIGHT)
    assert int(res.status) == Status.SOLVED
    np.testing.assert_allclose(res.z.numpy(), reference_solution(Q, q, G, h, A, b)[0], atol=1e-6)
    stat, feas, comp, min_lam = kkt(Q, q, G, h, A2, b2, res.z, res.lam, res.nu)
    assert stat < 1e-8 and feas < 1e-8 and comp < 1e-8 and min_lam >= 0


def test_badly_scaled_data(make_qp, reference_solution):
    Q, q, G, h, A, b = make_qp(10, 8, 2, seed=14)
    col = torch.logspace(-3, 3, 10, dtype=torch.float64)
    row = torch.logspace(4, -2, 8, dtype=torch.float64)
    # z = diag(col) w: the same problem in badly scaled variables, rows and objective.
    Qs, qs = 1e3 * col[:, None] * Q * col[None, :], 1e3 * q * col
    Gs, hs = row[:, None] * G * col[None, :], row * h
    As, bs = 1e-4 * A * col[None, :], 1e-4 * b
    res = solve_qp(Qs, qs, Gs, hs, As, bs, **TIGHT)
    assert int(res.status) == Status.SOLVED
    z_ref = reference_solution(Q, q, G, h, A, b)[0]
    np.testing.assert_allclose((res.z * col).numpy(), z_ref, atol=1e-6)


@pytest.mark.parametrize("n,m,p", [(6, 8, 2), (10, 0, 4), (7, 9, 0), (5, 0, 0)])
def test_kkt_identities(n, m, p, make_qp, args, kkt):
    qp = args(make_qp(n, m, p, batch=(3,), seed=21), m, p)
    res = solve_qp(*qp)
    assert (res.status == Status.SOLVED).all()
    for i in range(3):
        element = [None if t is None else t[i] for t in qp]
        stat, feas, comp, min_lam = kkt(*element, res.z[i], res.lam[i], res.nu[i])
        scale = 1 + float(torch.cat([t.abs().flatten() for t in element if t is not None]).max())
        assert stat <= 1e-7 * scale and feas <= 1e-7 * scale and comp <= 1e-7 * scale
        assert min_lam >= 0


def test_infinite_h_rows_are_ignored(make_qp):
    Q, q, G, h, A, b = make_qp(6, 5, 1, seed=22)
    h_inf = h.clone()
    h_inf[[1, 3]] = float("inf")
    keep = [0, 2, 4]
    res = solve_qp(Q, q, G, h_inf, A, b, **TIGHT)
    ref = solve_qp(Q, q, G[keep], h[keep], A, b, **TIGHT)
    assert int(res.status) == Status.SOLVED
    np.testing.assert_allclose(res.z.numpy(), ref.z.numpy(), atol=1e-8)
    assert res.lam[1] == 0 and res.lam[3] == 0
    np.testing.assert_allclose(res.lam[keep].numpy(), ref.lam.numpy(), atol=1e-7)


def test_infinite_h_rows_differ_per_element(make_qp):
    Q, q, G, h, _, _ = make_qp(6, 4, 0, seed=23)
    hb = h.repeat(2, 1)
    hb[0, 1] = float("inf")
    hb[1, 2] = float("inf")
    res = solve_qp(Q, q, G, hb, **TIGHT)
    for i, dropped in enumerate((1, 2)):
        keep = [j for j in range(4) if j != dropped]
        ref = solve_qp(Q, q, G[keep], h[keep], **TIGHT)
        np.testing.assert_allclose(res.z[i].numpy(), ref.z.numpy(), atol=1e-8)
        assert res.lam[i, dropped] == 0


@pytest.mark.parametrize("form", ["primal", "dual"])
def test_both_reductions_agree(form, make_qp, args, reference_solution):
    qp = args(make_qp(25, 30, 5, seed=24))
    _assert_matches(solve_qp(*qp, kkt=form, **TIGHT), reference_solution(*qp))


def test_nonsymmetric_q_uses_symmetric_part(make_qp):
    Q, q, G, h, A, b = make_qp(5, 3, 1, seed=25)
    skew = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    res = solve_qp(Q + skew - skew.T, q, G, h, A, b, **TIGHT)
    ref = solve_qp(Q, q, G, h, A, b, **TIGHT)
    np.testing.assert_allclose(res.z.numpy(), ref.z.numpy(), atol=1e-9)


def test_default_tolerances_are_met_on_original_data(make_qp):
    data = make_qp(20, 30, 5, batch=(8,), seed=26)
    res = solve_qp(*data)
    assert (res.status == Status.SOLVED).all()
    assert (res.primal_residual <= 1e-6).all() and (res.dual_residual <= 1e-6).all()


@pytest.mark.parametrize(
    "name",
    [
        "sudoku_cycling",  # separate primal and dual step lengths: the dual residual cycled (1e-4 to 3e-3)
        "sudoku_off_center",  # the full Mehrotra corrector: mu cycled between 2e-6 and 1e-5
        "sudoku_off_center_2",  # the same, also when the corrector was weighted only after mu rose
        "sudoku_off_center_3",  # the weighted corrector alone: mu cycled (2e-6 to 1e-5) with period 4
    ],
)
def test_learned_sudoku_qps_that_made_the_iteration_cycle(name, reference_solution):
    """Strictly convex QPs from a Sudoku layer in training (Q = 0.1 I, z >= 0, 40 learned
    equality rows) on which earlier versions of the iteration cycled until MAX_ITER."""
    data = np.load(Path(__file__).parent / "data" / f"{name}.npz")
    n = data["q"].shape[0]
    qp = (
        0.1 * torch.eye(n, dtype=torch.float64),
        torch.tensor(data["q"]),
        -torch.eye(n, dtype=torch.float64),
        torch.zeros(n, dtype=torch.float64),
        torch.tensor(data["A"]),
        torch.tensor(data["b"]),
    )
    res = solve_qp(*qp)
    assert res.iterations <= 30
    _assert_matches(res, reference_solution(*qp))
