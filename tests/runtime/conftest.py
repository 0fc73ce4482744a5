"""Shared generators of random QPs and a cvxpy/Clarabel reference for the runtime tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def random_qp(n, m, p, batch=(), seed=0, dtype=torch.float64, rank=None, lp=False):
    """A random QP that is feasible by construction (h = G z0 + slack, b = A z0) and bounded
    (strictly convex, or with box constraints when Q is singular).

    ``rank`` makes Q PSD of that rank; ``lp`` makes Q = 0. Both add the box -5 <= z <= 5 to G
    so that the problem stays bounded.
    """
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.randn(*batch, *shape, generator=gen, dtype=torch.float64)

    if lp:
        Q = torch.zeros(*batch, n, n, dtype=torch.float64)
    elif rank is not None:
        F = rand(rank, n)
        Q = F.mT @ F / n
    else:
        F = rand(n, n)
        Q = F.mT @ F / n + 0.1 * torch.eye(n, dtype=torch.float64)
    q = rand(n)
    G = rand(m, n)
    z0 = rand(n)
    h = (G @ z0.unsqueeze(-1)).squeeze(-1) + torch.rand(*batch, m, generator=gen, dtype=torch.float64)
    if lp or rank is not None:
        eye = torch.eye(n, dtype=torch.float64).expand(*batch, n, n)
        G = torch.cat((G, eye, -eye), dim=-2)
        h = torch.cat((h, 5 + z0.abs(), 5 + z0.abs()), dim=-1)
    A = rand(p, n)
    b = (A @ z0.unsqueeze(-1)).squeeze(-1)
    return tuple(t.to(dtype) for t in (Q, q, G, h, A, b))


def qp_args(data, m=None, p=None):
    """(Q, q, G, h, A, b) with G/h and A/b replaced by None when they have no rows."""
    Q, q, G, h, A, b = data
    m = G.shape[-2] if m is None else m
    p = A.shape[-2] if p is None else p
    return (Q, q, G if m else None, h if m else None, A if p else None, b if p else None)


def reference(Q, q, G=None, h=None, A=None, b=None):
    """(z, lam, nu, optimal value) from Clarabel through cvxpy at tight tolerance (unbatched)."""
    import cvxpy as cp

    Q, q, G, h, A, b = (None if t is None else t.detach().double().cpu().numpy() for t in (Q, q, G, h, A, b))
    x = cp.Variable(Q.shape[0])
    cons = []
    if G is not None and G.shape[0]:
        cons.append(G @ x <= h)
    if A is not None and A.shape[0]:
        cons.append(A @ x == b)
    problem = cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, cp.psd_wrap(0.5 * (Q + Q.T))) + q @ x), cons)
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    assert problem.status == "optimal", problem.status
    lam = cons[0].dual_value if G is not None and G.shape[0] else np.zeros(0)
    nu = cons[-1].dual_value if A is not None and A.shape[0] else np.zeros(0)
    return x.value, np.atleast_1d(lam), np.atleast_1d(nu), problem.value


def kkt_residuals(Q, q, G, h, A, b, z, lam, nu):
    """(stationarity, primal feasibility, complementarity, min lam) as plain floats."""
    Q = 0.5 * (Q + Q.mT)

    def mv(M, v):
        return (M @ v.unsqueeze(-1)).squeeze(-1)

    stat = mv(Q, z) + q
    feas = torch.zeros((), dtype=z.dtype)
    comp = torch.zeros((), dtype=z.dtype)
    min_lam = torch.zeros((), dtype=z.dtype)
    if G is not None:
        stat = stat + mv(G.mT, lam)
        slack = h - mv(G, z)
        feas = torch.maximum(feas, (-slack).clamp(min=0).abs().max())
        comp = (lam * slack).abs().max()
        min_lam = lam.min()
    if A is not None:
        stat = stat + mv(A.mT, nu)
        feas = torch.maximum(feas, (mv(A, z) - b).abs().max())
    return float(stat.abs().max()), float(feas), float(comp), float(min_lam)


@pytest.fixture
def make_qp():
    """:func:`random_qp`."""
    return random_qp


@pytest.fixture
def args():
    """:func:`qp_args`."""
    return qp_args


@pytest.fixture
def reference_solution():
    """:func:`reference`."""
    return reference


@pytest.fixture
def kkt():
    """:func:`kkt_residuals`."""
    return kkt_residuals
