"""Regularized Newton (KKT) systems of the interior-point method: factorization, solves, refinement.

Every Newton step solves, for each batch element,

    (Q + R_x) dx + Aᵀ dy + Gᵀ dz      = a
    A dx − R_A dy                      = b
    G dx − R_G dz + ds                 = c
    S dz + Z ds                        = d

where R_x, R_A, R_G are the (diagonal, positive) proximal regularizations and S, Z the slacks and
inequality multipliers. Eliminating ds and dy leaves, with T = R_G + S/Z,

    H = Q + R_x + Aᵀ R_A⁻¹ A,        [H  Gᵀ; G  −T] [dx; dz] = [a + Aᵀ R_A⁻¹ b;  c − d/Z].

H does not change during a solve (R_x and R_A are fixed), only T does. Two reductions:

* :class:`PrimalKKT` factors the n×n matrix H + Gᵀ T⁻¹ G each iteration
  (cost m n² + n³/3 per element and iteration).
* :class:`DualKKT` factors H once per solve and forms M = G H⁻¹ Gᵀ (cost n³/3 + n² m + n m²),
  then factors the m×m matrix M + T each iteration (cost m³/3).

:func:`choose_form` picks the cheaper. Both matrices are positive definite for any positive T, so
batched Cholesky (``torch.linalg.cholesky_ex``, which reports failures per element instead of
raising) applies. The predictor and corrector of one iteration share a, b, c and differ only in
d, so the work that depends on a, b, c alone is done once (:meth:`KKT.prepare`); the predictor
only needs (dz, ds) (its step length and complementarity), which :meth:`slack_step` computes
without the rest.

Reduced systems lose accuracy when T spans many orders of magnitude and when R_A is tiny (dy is
recovered from A dx − b, a difference of nearly equal terms); :meth:`KKT.refine` performs
iterative refinement against the full four-block system, with or without the regularization.
"""

from __future__ import annotations

import concurrent.futures
import functools

import torch

from .operators import Operators

EXPECTED_ITERATIONS = 12
"""Iteration count assumed when comparing the cost of the two reductions."""
SMALL_N = 24
"""Below this many variables the primal reduction is used: flops are negligible and it needs
fewer (latency-bound) triangular solves per iteration than the dual one."""


SPLIT_CHOLESKY_MAX_SIZE = 128
"""On the CPU, batched Cholesky runs LAPACK on one matrix after the other on a single thread, and
for matrices up to about this size LAPACK itself stays single-threaded: the batch is then split
into one chunk per torch thread, factored concurrently (about 1.4-1.8x faster on 2 cores at
k = 30-128)."""
SPLIT_CHOLESKY_MIN_FLOPS = 1e6
"""... provided the batch's factorization costs at least this many flops (B k³/3); below that
the threads' start-up costs more than it saves."""


def choose_form(n: int, m: int, form: str) -> str:
    """The reduction with fewer flops per solve for an n-variable, m-inequality problem."""
    if form != "auto":
        return form
    if n <= SMALL_N:
        return "primal"
    primal = EXPECTED_ITERATIONS * (m * n * n + n**3 / 3)
    dual = n**3 / 3 + n * n * m + n * m * m + EXPECTED_ITERATIONS * m**3 / 3
    return "dual" if dual < primal else "primal"


def cholesky(K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched Cholesky factor U (K = UᵀU) of the symmetric, row-major (B, k, k) tensor K,
    computed in place in K's memory, and a (B,) success flag.

    K's transpose is a column-major view of the same matrix (K is symmetric), so LAPACK factors it
    where it lies: no copy, no new memory (fresh batches of large matrices cost page faults on
    every iteration). On the CPU the batch may be split across threads (see
    SPLIT_CHOLESKY_MAX_SIZE). The upper factor is used because on CPU ``cholesky_ex`` zeroes the
    other triangle of its column-major result faster that way."""
    B, k = K.shape[0], K.shape[-1]
    U = K.mT
    info = torch.empty(B, dtype=torch.int32, device=K.device)
    chunks = min(torch.get_num_threads(), B)
    if (
        K.device.type == "cpu"
        and chunks > 1
        and k <= SPLIT_CHOLESKY_MAX_SIZE
        and B * k**3 / 3 >= SPLIT_CHOLESKY_MIN_FLOPS
    ):
        _split_cholesky(U, info, chunks)
    else:
        torch.linalg.cholesky_ex(U, upper=True, out=(U, info))
    return U, info == 0


@functools.cache
def _thread_pool(workers: int) -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="optlayer-cholesky")


def _split_cholesky(U: torch.Tensor, info: torch.Tensor, chunks: int) -> None:
    """Factor the column-major batch U in place, ``chunks`` slices of the batch concurrently."""
    pool = _thread_pool(chunks - 1)
    inference = torch.is_inference_mode_enabled()

    def factor(i0: int, i1: int) -> None:
        with torch.inference_mode(inference):
            torch.linalg.cholesky_ex(U[i0:i1], upper=True, out=(U[i0:i1], info[i0:i1]))

    bounds = [U.shape[0] * i // chunks for i in range(chunks + 1)]
    pending = [pool.submit(factor, bounds[i], bounds[i + 1]) for i in range(1, chunks)]
    factor(bounds[0], bounds[1])
    for future in pending:
        future.result()


def _lower_solve(U: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Solve Uᵀ y = v."""
    return torch.linalg.solve_triangular(U.mT, v.unsqueeze(-1), upper=False).squeeze(-1)


def _upper_solve(U: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Solve U x = v."""
    return torch.linalg.solve_triangular(U, v.unsqueeze(-1), upper=True).squeeze(-1)


def cholesky_solve(U: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Solve (Uᵀ U) x = v for each batch element (two triangular solves: faster than
    ``torch.cholesky_solve`` for batches on CPU)."""
    return _upper_solve(U, _lower_solve(U, v))


def _with_diagonal(M: torch.Tensor, diag: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """M + diag(diag) as a (B, k, k) tensor (M may be shared, 2-D), written into ``out`` if given."""
    if out is None:
        out = M.expand(diag.shape[0], *M.shape[-2:]).clone()
    else:
        out.copy_(M)
    out.diagonal(dim1=-2, dim2=-1).add_(diag)
    return out


SPARSE_GRAM_FILL = 0.1
"""A shared matrix M's weighted Gram matrix Mᵀ diag(w) M is formed from the products of M's
nonzero pairs (:class:`PairGram`) when its sparsity pattern fills at most this fraction of the
c×c result: the constraints that canonicalization produces (differences, auxiliary variables,
dynamics) are mostly of that kind, and the dense product would cost r c² per element."""


class DenseGram:
    """Mᵀ diag(w) M by a (batched) matrix product; M (r, c) shared or (B, r, c)."""

    def __init__(self, M: torch.Tensor):
        self.M = M
        self.Mt = M.mT.contiguous() if M.ndim == 2 else M.mT

    def add_to(self, out: torch.Tensor, w: torch.Tensor, work: Workspace | None = None) -> torch.Tensor:
        """out += Mᵀ diag(w) M in place; out (B, c, c), w (B, r); ``work`` holds the temporary."""
        B, c = out.shape[0], out.shape[-1]
        buffer = None if work is None else work.get("weighted", (B, c, w.shape[-1]), out)
        weighted = torch.mul(self.Mt, w.unsqueeze(-2), out=buffer)
        if self.M.ndim == 2:
            out.view(B * c, c).addmm_(weighted.view(B * c, -1), self.M)
        else:
            out.baddbmm_(weighted, self.M)
        return out


class PairGram:
    """Mᵀ diag(w) M for a shared, sparse M (r, c) as w @ P, where P (r, k) holds, for each of
    the k nonzero entries (i, j) of the result's pattern, the products M[:, i] M[:, j]: r k
    instead of r c² multiplications per element."""

    def __init__(self, M: torch.Tensor, i: torch.Tensor, j: torch.Tensor):
        self.flat = i * M.shape[-1] + j
        self.pairs = M[:, i] * M[:, j]

    def add_to(self, out: torch.Tensor, w: torch.Tensor, work: Workspace | None = None) -> torch.Tensor:
        B, c = out.shape[0], out.shape[-1]
        out.view(B, c * c).index_add_(1, self.flat, w @ self.pairs)
        return out


def gram(M: torch.Tensor) -> DenseGram | PairGram:
    """The cheaper way to form M's weighted Gram matrices (see SPARSE_GRAM_FILL)."""
    if M.ndim == 2 and M.shape[0]:
        limit = SPARSE_GRAM_FILL * M.shape[-1] ** 2
        pattern = M != 0
        if pattern.sum(1).max() ** 2 <= limit:  # else the fullest row alone overfills the pattern
            pattern = pattern.to(M.dtype)
            i, j = (pattern.T @ pattern).nonzero(as_tuple=True)
            if i.numel() <= limit:
                return PairGram(M, i, j)
    return DenseGram(M)


class Workspace:
    """Buffers reused from one iteration to the next: allocating the large per-iteration tensors
    afresh costs page faults that, for batches of 100×200×200, take as long as the products."""

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """The buffer ``name`` of this shape and of ``like``'s dtype and device (new if needed; also
        when the forward pass's inference-mode buffer is needed by the backward pass)."""
        buffer = self._buffers.get(name)
        if (
            buffer is None
            or buffer.shape != shape
            or buffer.dtype != like.dtype
            or buffer.device != like.device
            or buffer.is_inference() != torch.is_inference_mode_enabled()
        ):
            buffer = self._buffers[name] = torch.empty(shape, dtype=like.dtype, device=like.device)
        return buffer


class KKT:
    """State shared by both reductions: the data and the fixed regularization.

    ``reg_x`` (B, n) and ``reg_A`` (B, p) are the fixed regularizations in the caller's units;
    :meth:`factor` sets the inequality regularization and the slack ratio S/Z of the iterate.
    """

    def __init__(self, ops: Operators, reg_x: torch.Tensor, reg_A: torch.Tensor):
        self.ops = ops
        self.reg_x, self.reg_A = reg_x, reg_A
        self.n, self.m, self.p = ops.n, ops.m, ops.p
        self.reg_G = None
        self.work = Workspace()

    def hessian(self) -> torch.Tensor:
        """H = Q + diag(R_x) + Aᵀ diag(1/R_A) A, (B, n, n)."""
        H = _with_diagonal(self.ops.Q, self.reg_x)
        if self.p:
            H = gram(self.ops.A).add_to(H, self.reg_A.reciprocal())
        return H

    def _selected(self, idx: torch.Tensor, ops: Operators | None = None):
        ops = self.ops.select(idx) if ops is None else ops
        return ops, self.reg_x.index_select(0, idx), self.reg_A.index_select(0, idx)

    def strengthen(self, rows: torch.Tensor, factor: float) -> None:
        """Multiply the fixed regularization of elements ``rows`` by ``factor`` and redo their
        setup in place (after a failed factorization)."""
        ops, reg_x, reg_A = self._selected(rows)
        fresh = type(self)(ops, reg_x * factor, reg_A * factor)
        self.reg_x.index_copy_(0, rows, fresh.reg_x)
        self.reg_A.index_copy_(0, rows, fresh.reg_A)
        for name in self._setup_fields:
            mine = getattr(self, name)
            if mine is not None:
                mine.index_copy_(0, rows, getattr(fresh, name))

    def newton(self, rhs, s, z):
        """Solve the four-block system for ``rhs`` = (a, b, c, d) at slacks s and multipliers z."""
        return self.solve(self.prepare(*rhs[:3]), rhs[3], s, z)

    def refine(self, sol, rhs, s, z, steps: int, regularized: bool = True):
        """``steps`` steps of iterative refinement of ``sol`` against the full system, with or
        without (``regularized=False``: the regularized solve then acts as a preconditioner for
        the exact Newton system) the regularization."""
        for _ in range(steps):
            corr = self.newton(self.residual(sol, rhs, s, z, regularized), s, z)
            sol = tuple(u + v for u, v in zip(sol, corr))
        return sol

    def residual(self, sol, rhs, s, z, regularized: bool = True):
        """rhs minus the four-block matrix (with or without regularization) applied to ``sol``."""
        dx, dy, dz, ds = sol
        a, b, c, d = rhs
        n, p = self.n, self.p
        P = self.ops.primal(dx)
        ea = a - P[:, :n] - self.ops.adjoint(torch.cat((dy, dz), dim=1))
        eb = b - P[:, n : n + p]
        ec = c - P[:, n + p :] - ds
        if regularized:
            ea = ea - self.reg_x * dx
            eb = eb + self.reg_A * dy
            if self.m:
                ec = ec + self.reg_G * dz
        return ea, eb, ec, d - s * dz - z * ds


class PrimalKKT(KKT):
    """Factor H + Gᵀ T⁻¹ G (n×n) at every iteration."""

    _setup_fields = ("H",)

    def __init__(self, ops, reg_x, reg_A, H=None, G_gram=None):
        super().__init__(ops, reg_x, reg_A)
        self.H = self.hessian() if H is None else H
        self.G_gram = gram(ops.G) if G_gram is None else G_gram
        self.U = None

    def setup_ok(self) -> torch.Tensor:
        return torch.ones(self.reg_x.shape[0], dtype=torch.bool, device=self.reg_x.device)

    def select(self, idx, ops: Operators | None = None) -> PrimalKKT:
        """The system of elements ``idx`` (``ops``: their operators, if already selected)."""
        shared = self.G_gram if self.ops.G.ndim == 2 else None
        return PrimalKKT(*self._selected(idx, ops), H=self.H.index_select(0, idx), G_gram=shared)

    def factor(self, reg_G: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
        """Factor for T = reg_G + ratio (ratio = S/Z); returns (B,) True where Cholesky succeeded."""
        K = self.work.get("K", self.H.shape, self.H).copy_(self.H)
        if self.m:
            self.reg_G, self.ratio = reg_G, ratio
            self.W = (reg_G + ratio).reciprocal_()
            self.G_gram.add_to(K, self.W, self.work)
        self.U, ok = cholesky(K)
        return ok

    def prepare(self, a, b, c):
        return a, (b / self.reg_A if self.p else b), c

    def _primal_step(self, prepared, d, z):
        """d/z, W(c − d/z) and dx for right-hand side d (m > 0)."""
        a, b_scaled, c = prepared
        d_z = d / z
        Wc = self.W * (c - d_z)
        dx = cholesky_solve(self.U, a + self.ops.adjoint(torch.cat((b_scaled, Wc), dim=1) if self.p else Wc))
        return d_z, Wc, dx

    def slack_step(self, prepared, d, s, z):
        """(dz, ds) of the Newton solution for right-hand side d (m > 0): all that the predictor
        needs (its dy is never computed)."""
        d_z, Wc, dx = self._primal_step(prepared, d, z)
        dz = self.W * self.ops.inequality_rows(dx) - Wc
        return dz, d_z - self.ratio * dz

    def solve(self, prepared, d, s, z):
        a, b_scaled, c = prepared
        if not self.m:
            dx = cholesky_solve(self.U, a + self.ops.equality_adjoint(b_scaled) if self.p else a)
            dy = self.ops.equality_rows(dx) / self.reg_A - b_scaled if self.p else b_scaled
            return dx, dy, c, d
        d_z, Wc, dx = self._primal_step(prepared, d, z)
        Cdx = self.ops.constraint_rows(dx)
        if self.p:
            dy = Cdx[:, : self.p] / self.reg_A - b_scaled
            Cdx = Cdx[:, self.p :]
        else:
            dy = b_scaled
        dz = self.W * Cdx - Wc
        return dx, dy, dz, d_z - self.ratio * dz


class DualKKT(KKT):
    """Factor H once and M + T (m×m, M = G H⁻¹ Gᵀ) at every iteration."""

    _setup_fields = ("U_H", "X", "M", "_setup_ok")

    def __init__(self, ops, reg_x, reg_A, setup=None):
        super().__init__(ops, reg_x, reg_A)
        if setup is None:
            setup = (*cholesky(self.hessian()), None, None)
        self.U_H, self._setup_ok, self._X, self._M = setup

    @property
    def X(self) -> torch.Tensor | None:
        """U_H⁻ᵀ Gᵀ (B, n, m), computed on first use: the caller may still reject this reduction
        after looking at H's pivots, and then the n² m work is saved."""
        if self._X is None and self.m:
            G = self.ops.G
            Gt = G.mT.expand(self.U_H.shape[0], self.n, self.m) if G.ndim == 2 else G.mT
            self._X = torch.linalg.solve_triangular(self.U_H.mT, Gt, upper=False)
        return self._X

    @property
    def M(self) -> torch.Tensor | None:
        """The Schur complement G H⁻¹ Gᵀ = XᵀX (B, m, m), computed on first use."""
        if self._M is None and self.m:
            self._M = self.X.mT @ self.X
        return self._M

    def setup_ok(self) -> torch.Tensor:
        return self._setup_ok

    def select(self, idx, ops: Operators | None = None) -> DualKKT:
        """The system of elements ``idx`` (``ops``: their operators, if already selected)."""

        def pick(t):
            return None if t is None else t.index_select(0, idx)

        setup = (pick(self.U_H), pick(self._setup_ok), pick(self._X), pick(self._M))
        return DualKKT(*self._selected(idx, ops), setup=setup)

    def factor(self, reg_G: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
        if not self.m:
            return self._setup_ok
        self.reg_G, self.ratio = reg_G, ratio
        K = self.work.get("K", self.M.shape, self.M)
        self.U_M, ok = cholesky(_with_diagonal(self.M, reg_G + ratio, K))
        return ok & self._setup_ok

    def prepare(self, a, b, c):
        if self.p:
            a = a + self.ops.equality_adjoint(b / self.reg_A)
        t = _lower_solve(self.U_H, a)
        Xt = torch.bmm(t.unsqueeze(-2), self.X).squeeze(-2) if self.m else None
        return t, Xt, b, c

    def slack_step(self, prepared, d, s, z):
        """(dz, ds) of the Newton solution for right-hand side d (m > 0), without the triangular
        solve and products that dx and dy would cost: all that the predictor needs."""
        _, Xt, _, c = prepared
        d_z = d / z
        dz = cholesky_solve(self.U_M, Xt - c + d_z)
        return dz, d_z - self.ratio * dz

    def solve(self, prepared, d, s, z):
        t, _, b, c = prepared
        if self.m:
            dz, ds = self.slack_step(prepared, d, s, z)
            dx = _upper_solve(self.U_H, t - torch.bmm(dz.unsqueeze(-2), self.X.mT).squeeze(-2))
        else:
            dx, dz, ds = _upper_solve(self.U_H, t), c, d
        dy = (self.ops.equality_rows(dx) - b) / self.reg_A if self.p else b
        return dx, dy, dz, ds


def build(form: str, ops: Operators, reg_x: torch.Tensor, reg_A: torch.Tensor) -> KKT:
    """The KKT system of the requested reduction (``"primal"`` or ``"dual"``)."""
    return (DualKKT if form == "dual" else PrimalKKT)(ops, reg_x, reg_A)
