"""Ruiz equilibration of the KKT matrix and scaling of the objective.

The solver never forms scaled copies of the data. Because the interior-point iterates, step
lengths and Cholesky factorizations are invariant (up to roundoff) under diagonal scaling, the only
places where scaling matters are the regularization terms and the norms used by heuristics
(proximal-centre updates, infeasibility certificates). Those are expressed in the equilibrated
problem

    min ½ x̃ᵀ(c D Q D)x̃ + c (D q)ᵀx̃   s.t.  (E_G G D) x̃ ≤ E_G h,  (E_A A D) x̃ = E_A b,

with x = D x̃, and mapped back to the original units as diagonal weights. Ruiz's iteration
(Ruiz 2001, as used by OSQP and PIQP) drives every row and column of [[Q, Cᵀ], [C, 0]], C = [A; G],
to unit infinity norm, and the cost factor c brings the objective to unit size (OSQP's rule).
"""

from __future__ import annotations

import dataclasses

import torch

from .batching import Batch
from .operators import Operators

SCALING_MIN = 1e-4
"""Smallest factor a Ruiz sweep may apply (and, inverted, the largest): guards against
degenerate rows or columns (all zeros, huge entries) producing extreme scalings."""
SCALING_MAX = 1e4
"""Largest factor a Ruiz sweep may apply."""
RUIZ_CHUNK_BYTES = 4 * 2**20
"""Batched data are equilibrated in chunks of about this many bytes (see :class:`_AbsoluteKKT`)."""
RUIZ_TOLERANCE = 2.0
"""Ruiz sweeps stop once every row and column infinity norm of the scaled KKT matrix lies in
[1/RUIZ_TOLERANCE, RUIZ_TOLERANCE]: the regularization and the heuristics only need the data
within a small factor of unit size, and each sweep is a pass over all the data."""


@dataclasses.dataclass
class Scaling:
    """Diagonal scalings; each is (1, k) when shared by the batch, else (B, k); ``c`` is (B,)."""

    d: torch.Tensor
    e_A: torch.Tensor
    e_G: torch.Tensor
    c: torch.Tensor


def _colmax(M: torch.Tensor, row_weight: torch.Tensor) -> torch.Tensor:
    """max_i row_weight_i |M_ij| for each column j; M is |data| (r, c) or (B, r, c)."""
    if M.shape[-2] == 0:
        return M.new_zeros(row_weight.shape[0], M.shape[-1])
    return (M * row_weight.unsqueeze(-1)).amax(-2)


def _rowmax(M: torch.Tensor, col_weight: torch.Tensor) -> torch.Tensor:
    """max_j |M_ij| col_weight_j for each row i."""
    if M.shape[-2] == 0 or M.shape[-1] == 0:
        return M.new_zeros(col_weight.shape[0], M.shape[-2])
    return (M * col_weight.unsqueeze(-2)).amax(-1)


class _AbsoluteKKT:
    """Column and row norms of the scaled KKT matrix [[Q, Cᵀ], [C, 0]] with C = [A; G].

    When Q, A and G are of the same kind their stacked copy (``ops.K``) is processed in chunks of the batch of
    about RUIZ_CHUNK_BYTES: a temporary as large as the whole batch's data would cost more in
    page faults (fresh memory from the operating system) than the arithmetic on it.
    """

    def __init__(self, batch: Batch, ops: Operators):
        self.n, self.p = batch.n, batch.p
        self.Q, self.A, self.G, self.K = batch.Q, batch.A, batch.G, ops.K
        self.stacked = ops.K is not None
        if self.stacked and self.K.ndim == 3:
            per_element = (batch.n + batch.p + batch.m) * batch.n * batch.Q.element_size()
            step = max(1, int(RUIZ_CHUNK_BYTES // max(per_element, 1)))
            self.chunks = [slice(i, i + step) for i in range(0, batch.size, step)]
        else:
            self.chunks = [slice(None)]

    def norms(self, d, e):
        """Column norms (B, n) and constraint-row norms (B, p + m) for scalings d and e = [e_A; e_G]."""
        if not self.stacked:
            absQ, absA, absG = self.Q.abs(), self.A.abs(), self.G.abs()
            e_A, e_G = e[:, : self.p], e[:, self.p :]
            col = torch.maximum(_colmax(absQ, d), torch.maximum(_colmax(absA, e_A), _colmax(absG, e_G))) * d
            return col, torch.cat((_rowmax(absA, d) * e_A, _rowmax(absG, d) * e_G), dim=1)
        cols, rows = [], []
        for chunk in self.chunks:
            K, dc, ec = self.K[chunk].abs(), d[chunk], e[chunk]
            cols.append(_colmax(K, torch.cat((dc, ec), dim=1)) * dc)
            rows.append(_rowmax(K[..., self.n :, :], dc) * ec)
        return torch.cat(cols), torch.cat(rows)

    def hessian_column_means(self, d):
        """Mean over j of the column norms of D|Q|D."""
        if self.Q.ndim == 2 or not self.stacked:
            return (_colmax(self.Q.abs(), d) * d).mean(-1)
        return torch.cat([(_colmax(self.Q[c].abs(), d[c]) * d[c]).mean(-1) for c in self.chunks])


def _update(scale: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
    norm = torch.where(norm > 0, norm, torch.ones_like(norm))
    return scale / norm.clamp(SCALING_MIN, SCALING_MAX).sqrt()


def ruiz(batch: Batch, ops: Operators, sweeps: int) -> Scaling:
    """Equilibrate ``batch`` with at most ``sweeps`` Ruiz sweeps; an element stops early (its
    scaling no longer changes) once every one of its row and column norms lies within a factor
    RUIZ_TOLERANCE of 1, so its scaling does not depend on the rest of the batch. The result is
    shared (first dimension 1) whenever Q, G and A are."""
    absolute = _AbsoluteKKT(batch, ops)
    rows = 1 if batch.Q.ndim == batch.A.ndim == batch.G.ndim == 2 else batch.size
    one = batch.q.new_ones(())
    d = one.expand(rows, batch.n)
    e = one.expand(rows, batch.p + batch.m)
    for _ in range(sweeps):
        col, row = absolute.norms(d, e)
        norms = torch.cat((col, row), dim=1)
        done = ((norms == 0) | ((norms <= RUIZ_TOLERANCE) & (norms >= 1 / RUIZ_TOLERANCE))).all(1, keepdim=True)
        if bool(done.all()):
            break
        d = torch.where(done, d, _update(d, col))
        e = torch.where(done, e, _update(e, row))
    d = d.clamp(SCALING_MIN, SCALING_MAX)
    e = e.clamp(SCALING_MIN, SCALING_MAX)
    q_norm = (d * batch.q).abs().amax(-1) if batch.n else batch.q.new_zeros(batch.size)
    Q_norm = absolute.hessian_column_means(d) if batch.n else q_norm
    cost = torch.maximum(Q_norm.expand_as(q_norm), q_norm)
    cost = torch.where(cost < SCALING_MIN, torch.ones_like(cost), cost).clamp(max=SCALING_MAX)
    return Scaling(d, e[:, : batch.p], e[:, batch.p :], 1.0 / cost)
