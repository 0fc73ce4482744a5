"""The constraint and Hessian matrices as batched linear operators.

A matrix is either shared by the whole batch (2-D, applied with one GEMM to all elements) or
batched (3-D, applied with a batched product). Q, A and G are stacked into one tensor when they
are of the same kind, so that Qx, Ax and Gx cost a single pass over the data, and Aᵀy + Gᵀz
another; the appliers are built once so that the iteration pays no per-call shape checks.
"""

from __future__ import annotations

import torch


def _applier(M: torch.Tensor):
    """v -> M v for (B, c) batches v, computed as the row vectors vᵀ Mᵀ: on CPU, batched products
    with a single output column are several times slower than the same product with a single
    output row (e.g. 1.0 ms against 0.2 ms for 64 matrices of 220×100)."""
    Mt = M.mT
    if M.ndim == 2:

        def apply(v):
            return torch.mm(v, Mt)
    else:

        def apply(v):
            return torch.bmm(v.unsqueeze(-2), Mt).squeeze(-2)

    return apply


COLUMN_MAJOR_MAX_COLS = 12
"""A batched matrix with at most this many columns gets a column-major copy for Mᵀ v on the CPU:
the row-vector product with a row-major matrix of so few columns is about 2.3x slower there
(B = 128: 49 µs against 21 µs for 20×10 matrices; no difference from 24 columns up)."""


def _adjoint_applier(M: torch.Tensor):
    """v -> Mᵀ v for (B, r) batches v."""
    if M.ndim == 2:

        def apply(v):
            return torch.mm(v, M)
    else:
        if M.device.type == "cpu" and M.shape[-1] <= COLUMN_MAJOR_MAX_COLS:
            M = M.mT.contiguous().mT

        def apply(v):
            return torch.bmm(v.unsqueeze(-2), M).squeeze(-2)

    return apply


def _stacked(*appliers):
    def apply(x):
        return torch.cat([f(x) for f in appliers], dim=1)

    return apply


class Operators:
    """Q (n×n), A (p×n), G (m×n), each shared (2-D) or batched (3-D).

    ``primal(x)`` is [Qx; Ax; Gx] (B, n + p + m), ``constraint_rows(x)`` is [Ax; Gx],
    ``adjoint(v)`` is Aᵀy + Gᵀz for v = [y; z], ``equality_rows`` and ``equality_adjoint`` apply
    A and Aᵀ alone, ``inequality_rows`` applies G alone.
    """

    def __init__(self, Q: torch.Tensor, A: torch.Tensor, G: torch.Tensor, K: torch.Tensor | None = None):
        self.n, self.p, self.m = Q.shape[-1], A.shape[-2], G.shape[-2]
        # A matrix without rows takes the kind of the other one, so that it never splits a product.
        if not self.p:
            A = G[..., :0, :]
        elif not self.m:
            G = A[..., :0, :]
        if K is None and Q.ndim == A.ndim == G.ndim:
            K = torch.cat((Q, A, G), dim=-2)
        self.K = K
        if K is not None:
            n, p = self.n, self.p
            Q, A, G = K[..., :n, :], K[..., n : n + p, :], K[..., n + p :, :]
            self.C = K[..., n:, :]
        elif A.ndim != G.ndim:
            self.C = None
        else:
            self.C = G if not self.p else A if not self.m else torch.cat((A, G), dim=-2)
        self.Q, self.A, self.G = Q, A, G
        if K is not None:
            self.primal = _applier(K)
        elif self.C is not None:
            self.primal = _stacked(_applier(Q), _applier(self.C))
        else:
            self.primal = _stacked(_applier(Q), _applier(A), _applier(G))
        if self.C is not None:
            self.constraint_rows = _applier(self.C)
            self.adjoint = _adjoint_applier(self.C)
        else:
            self.constraint_rows = _stacked(_applier(A), _applier(G))
            self.adjoint = self._split_adjoint(_adjoint_applier(A), _adjoint_applier(G), self.p)
        self.equality_rows = _applier(A)
        self.inequality_rows = _applier(G)
        self.equality_adjoint = _adjoint_applier(A)

    @staticmethod
    def _split_adjoint(At, Gt, p):
        def apply(v):
            return At(v[:, :p]) + Gt(v[:, p:])

        return apply

    def select(self, idx: torch.Tensor) -> Operators:
        """The operators of elements ``idx``; shared matrices stay shared."""

        def pick(t):
            return t if t.ndim == 2 else t.index_select(0, idx)

        if self.K is not None:
            return Operators(self.Q, self.A, self.G, pick(self.K))
        return Operators(pick(self.Q), pick(self.A), pick(self.G))
