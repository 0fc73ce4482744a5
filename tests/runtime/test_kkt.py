"""The Newton systems of the interior-point method against dense solves of the full system."""

import pytest
import torch

from optlayer.runtime import kkt as kkt_module
from optlayer.runtime.operators import Operators


@pytest.fixture(autouse=True)
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_cholesky_factors_in_place_and_flags_each_element():
    F = torch.randn(5, 7, 7)
    K = F @ F.mT + torch.eye(7)
    K[2] = -K[2]
    expected = torch.linalg.cholesky(K[[0, 1, 3, 4]], upper=True)
    U, ok = kkt_module.cholesky(K.clone())
    assert ok.tolist() == [True, True, False, True, True]
    torch.testing.assert_close(U[[0, 1, 3, 4]], expected)


def _full_solve(Q, A, G, reg_x, reg_A, reg_G, s, z, rhs):
    """The four-block system of kkt.py, assembled and solved densely, element by element."""
    solutions = []
    for i in range(Q.shape[0]):
        n, p, m = Q.shape[-1], A.shape[-2], G.shape[-2]
        Ai, Gi = A[i] if A.ndim == 3 else A, G[i] if G.ndim == 3 else G
        K = torch.zeros(n + p + 2 * m, n + p + 2 * m)
        x, y, zz, ss = slice(0, n), slice(n, n + p), slice(n + p, n + p + m), slice(n + p + m, None)
        K[x, x] = Q[i] + torch.diag(reg_x[i])
        K[x, y], K[x, zz] = Ai.T, Gi.T
        K[y, x], K[y, y] = Ai, -torch.diag(reg_A[i])
        K[zz, x], K[zz, zz], K[zz, ss] = Gi, -torch.diag(reg_G[i]), torch.eye(m)
        K[ss, zz], K[ss, ss] = torch.diag(s[i]), torch.diag(z[i])
        solutions.append(torch.linalg.solve(K, torch.cat([r[i] for r in rhs])))
    return torch.stack(solutions).split([n, p, m, m], dim=1)


def _sparse(rows, cols):
    """A random matrix with two nonzeros per row (differences of neighbouring variables)."""
    M = torch.zeros(rows, cols)
    start = torch.randint(0, cols - 1, (rows,))
    M[torch.arange(rows), start] = -torch.rand(rows) - 0.5
    M[torch.arange(rows), start + 1] = torch.rand(rows) + 0.5
    return M


@pytest.mark.parametrize("form", ["primal", "dual"])
@pytest.mark.parametrize("structure", ["shared", "batched", "sparse"])
def test_newton_solves_match_the_full_system_across_refactorizations(form, structure):
    B, n, p, m = 4, 30, 5, 40
    F = torch.randn(B, n, n)
    Q = F @ F.mT / n + 0.1 * torch.eye(n)
    shapes = {"shared": (), "batched": (B,), "sparse": ()}[structure]
    A, G = torch.randn(*shapes, p, n), torch.randn(*shapes, m, n)
    if structure == "sparse":
        A, G = _sparse(p, n), _sparse(m, n)
        assert isinstance(kkt_module.gram(G), kkt_module.PairGram)
    reg_x, reg_A = torch.full((B, n), 1e-8), torch.full((B, p), 1e-7)
    system = kkt_module.build(form, Operators(Q, A, G), reg_x, reg_A)
    for step in range(3):
        s, z = torch.rand(B, m) + 0.1, torch.rand(B, m) + 0.1
        reg_G = torch.full((B, m), 10.0**-step)
        assert system.factor(reg_G, s / z).all()
        rhs = (torch.randn(B, n), torch.randn(B, p), torch.randn(B, m), torch.randn(B, m))
        got = system.newton(rhs, s, z)
        for u, v in zip(got, _full_solve(Q, A, G, reg_x, reg_A, reg_G, s, z, rhs)):
            torch.testing.assert_close(u, v, rtol=1e-6, atol=1e-6)
