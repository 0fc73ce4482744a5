"""The batched linear operators against dense products, for every mix of shared and batched data."""

import itertools

import pytest
import torch

from optlayer.runtime.operators import Operators

B, N = 3, 5


def _matrix(kind: str, rows: int) -> torch.Tensor:
    """A (rows, N) shared or (B, rows, N) batched matrix; "none" is the (0, N) matrix of an absent constraint."""
    if kind == "none":
        return torch.zeros(0, N, dtype=torch.float64)
    return torch.randn(*((B,) if kind == "batched" else ()), rows, N, dtype=torch.float64)


def _dense(M: torch.Tensor) -> torch.Tensor:
    return M.expand(B, *M.shape[-2:])


@pytest.mark.parametrize(
    "kinds",
    list(itertools.product(["shared", "batched"], ["none", "shared", "batched"], ["none", "shared", "batched"])),
)
def test_products_match_dense_ones(kinds):
    Q, A, G = _matrix(kinds[0], N), _matrix(kinds[1], 2), _matrix(kinds[2], 4)
    ops = Operators(Q, A, G)
    x = torch.randn(B, N, dtype=torch.float64)
    v = torch.randn(B, ops.p + ops.m, dtype=torch.float64)
    C = torch.cat((_dense(A), _dense(G)), dim=1)

    def apply(M, u):
        return (M @ u.unsqueeze(-1)).squeeze(-1)

    torch.testing.assert_close(ops.primal(x), torch.cat((apply(_dense(Q), x), apply(C, x)), dim=1))
    torch.testing.assert_close(ops.constraint_rows(x), apply(C, x))
    torch.testing.assert_close(ops.adjoint(v), apply(C.mT, v))
    torch.testing.assert_close(ops.equality_rows(x), apply(_dense(A), x))
    torch.testing.assert_close(ops.inequality_rows(x), apply(_dense(G), x))
    torch.testing.assert_close(ops.equality_adjoint(v[:, : ops.p]), apply(_dense(A).mT, v[:, : ops.p]))


@pytest.mark.parametrize("absent", ["A", "G"])
def test_an_absent_constraint_does_not_split_the_stacked_product(absent):
    """Q and the present constraint batched: one stacked product, although the absent one is (0, N)."""
    present = _matrix("batched", 4)
    none = _matrix("none", 0)
    ops = Operators(_matrix("batched", N), *((none, present) if absent == "A" else (present, none)))
    assert ops.K is not None and ops.K.shape == (B, N + 4, N)
