"""Differentiation of the solution map by implicit differentiation of the KKT conditions (OptNet).

At a solution (z, λ, ν) with slack s = h − Gz the KKT conditions

    Qz + q + Gᵀλ + Aᵀν = 0,    diag(λ)(Gz − h) = 0,    Az − b = 0

define z, λ, ν implicitly. For incoming gradients (g_z, g_λ, g_ν) the adjoint system, written with
u = λ ∘ w_λ so that nothing is divided by λ, is

    [Q   Gᵀ      Aᵀ] [w_z]     [g_z]
    [G  −S/Λ     0 ] [u  ] = − [g_λ]
    [A   0       0 ] [w_ν]     [g_ν]

and the gradients are  ∇q = w_z,  ∇Q = ½(w_z zᵀ + z w_zᵀ),  ∇h = −u,  ∇G = λ w_zᵀ + u zᵀ,
∇b = −w_ν,  ∇A = ν w_zᵀ + w_ν zᵀ.

This is the interior-point Newton system with S/Λ taken at the final interior iterate, where
every (s_i, λ_i) pair is strictly positive. That keeps the system well defined at degenerate
solutions (weakly active constraints, λ_i = s_i = 0 in the limit): there S/Λ is a finite positive
number instead of 0/0, and the gradient is the limit along the central path. The system is solved
with the forward pass's fixed factorization (H, and for the dual reduction G H⁻¹ Gᵀ) and one new
Cholesky factorization at the final iterate, regularized by the forward's rho and delta_eq and by
``delta_min`` on the inequality block (all tiny, in equilibrated units), followed by
``backward_refine_steps`` steps of iterative refinement against the *unregularized* system above.
Where that system is singular (redundant equalities, non-unique multipliers) the result is the
regularized solution, finite by construction.

Elements that are not SOLVED get zero gradient. Gradients of inputs shared by the batch (fewer
batch dimensions than the batch) are summed over the broadcast dimensions, as autograd does.
"""

from __future__ import annotations

import torch

from .batching import flatten
from .forward import solve_batch
from .options import SolverOptions
from .status import Status

BACKWARD_FAILURE_FACTOR = 100.0
"""Growth of the inequality regularization of the backward factorization after a failure."""
REFINE_TOLERANCE = 1000.0
"""Backward refinement stops when every residual is below this many units of roundoff
(relative to the size of the incoming gradient)."""


class QPFunction(torch.autograd.Function):
    """Batched QP solve with gradients for Q, q, G, h, A, b. Use :func:`solve_qp`."""

    @staticmethod
    def forward(ctx, opts: SolverOptions, batch_shape, Q, q, G, h, A, b):
        Qs = 0.5 * (Q + Q.mT)
        batch = flatten(Qs, q, G, h, A, b, batch_shape)
        result = solve_batch(batch, opts)
        ctx.opts, ctx.batch, ctx.result = opts, batch, result
        ctx.shapes = tuple(None if t is None else t.shape for t in (Q, q, G, h, A, b))
        shape = tuple(batch_shape)
        outputs = (
            result.z.reshape(*shape, batch.n),
            result.lam.reshape(*shape, batch.m),
            result.nu.reshape(*shape, batch.p),
            result.status.reshape(shape),
            result.iterations.reshape(shape),
            result.primal_residual.reshape(shape),
            result.dual_residual.reshape(shape),
            result.duality_gap.reshape(shape),
        )
        ctx.mark_non_differentiable(*outputs[3:])
        return outputs

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g_z, g_lam, g_nu, *_):
        batch, result = ctx.batch, ctx.result
        B, n, m, p = batch.size, batch.n, batch.m, batch.p
        needs = ctx.needs_input_grad[2:]
        grads = [None] * 6
        g = (g_z.reshape(B, n), g_lam.reshape(B, m), g_nu.reshape(B, p))
        for part in result.parts:
            part_grads = _part_gradients(batch, part, g, ctx.opts, needs)
            grads = [b if a is None else a if b is None else a + b for a, b in zip(grads, part_grads)]
        data = (batch.Q, batch.q, batch.G, batch.h, batch.A, batch.b)
        grads = [torch.zeros_like(t) if need and grad is None else grad for t, need, grad in zip(data, needs, grads)]
        return (None, None) + _shape_grads(grads, ctx.shapes, batch)


def _part_gradients(batch, part, g, opts, needs):
    """The flattened gradients (see :func:`_gradients`) from the solved elements of one
    interior-point result, in the batch's dtype; all None when none is solved. A part solved in
    float64 for a float32 batch is differentiated in float64."""
    solved = (part.ipm.status == int(Status.SOLVED)).nonzero().squeeze(1)
    if not solved.numel():
        return [None] * 6
    dtype = part.ipm.x.dtype
    data = batch if dtype == batch.q.dtype else batch.to(dtype)
    g = tuple(t.to(dtype) for t in g)
    grads = _gradients(data, part.ipm, solved, part.rows.index_select(0, solved), g, opts, needs)
    return [None if t is None else t.to(batch.q.dtype) for t in grads]


def _adjoint_solve(kkt, s, lam, unit_G, rhs, opts):
    """Solve the adjoint system for the solved elements (see module docstring).

    Refinement stops once every element's residual is below REFINE_TOLERANCE units of roundoff
    or stops decreasing.
    """
    reg_G = opts.delta_min * unit_G
    ratio = s / lam
    for _ in range(opts.max_factor_retries + 1):
        ok = kkt.factor(reg_G, ratio)
        if bool(ok.all()):
            break
        reg_G = torch.where(ok.unsqueeze(1), reg_G, reg_G * BACKWARD_FAILURE_FACTOR)
    sol = kkt.newton(rhs, s, lam)
    size = torch.cat(rhs, dim=1).abs().amax(1).clamp(min=1.0)
    tol = REFINE_TOLERANCE * torch.finfo(s.dtype).eps * size
    previous = None
    for _ in range(opts.backward_refine_steps):
        err = kkt.residual(sol, rhs, s, lam, regularized=False)
        size = torch.cat(err, dim=1).abs().amax(1)
        stalled = previous is not None and bool((size > 0.5 * previous).all())
        if stalled or bool((size <= tol).all()):
            break
        previous = size
        sol = tuple(u + v for u, v in zip(sol, kkt.newton(err, s, lam)))
    w_z, w_nu, u, _ = sol
    keep = (w_z.isfinite().all(1) & w_nu.isfinite().all(1) & u.isfinite().all(1) & ok).unsqueeze(1)
    return torch.where(keep, w_z, 0.0), torch.where(keep, w_nu, 0.0), torch.where(keep, u, 0.0)


def _outer_sum(a, b, c, d):
    """a bᵀ + c dᵀ for each element, in one batched product."""
    return torch.bmm(torch.stack((a, c), dim=2), torch.stack((b, d), dim=1))


def _gradients(batch, ipm, solved, rows, g, opts, needs):
    """Flattened gradients of the six inputs (None where not needed): per element (B, ·) with
    zeros for the elements that are not solved, or summed (2-D) for shared matrices."""
    everything = rows.numel() == batch.size

    def take(t, idx):
        return t if everything else t.index_select(0, idx)

    g_z, g_lam, g_nu = (take(t, rows) for t in g)
    x, y, lam, s = (take(t, solved) for t in (ipm.x, ipm.y, ipm.z, ipm.s))
    inf_rows = None if batch.inf_rows is None else take(batch.inf_rows, rows)
    if inf_rows is not None:
        g_lam = g_lam.masked_fill(inf_rows, 0.0)
    kkt = ipm.kkt if everything else ipm.kkt.select(solved)
    rhs = (-g_z, -g_nu, -g_lam, torch.zeros_like(g_lam))
    w_z, w_nu, u = _adjoint_solve(kkt, s, lam, take(ipm.unit_G, solved), rhs, opts)
    if inf_rows is not None:
        u = u.masked_fill(inf_rows, 0.0)
        lam = lam.masked_fill(inf_rows, 0.0)
    factors = {0: (w_z, x, x, w_z), 2: (lam, w_z, u, x), 4: (y, w_z, w_nu, x)}
    vectors = {1: w_z, 3: -u, 5: -w_nu}
    data = (batch.Q, batch.q, batch.G, batch.h, batch.A, batch.b)
    grads = []
    for i, (t, need) in enumerate(zip(data, needs)):
        if not need:
            grads.append(None)
            continue
        if i in vectors:
            grad = vectors[i]
        elif t.ndim == 2:
            a, b, c, d = factors[i]
            grads.append(a.mT @ b + c.mT @ d if i else 0.5 * (a.mT @ b + c.mT @ d))
            continue
        else:
            grad = _outer_sum(*factors[i])
            if i == 0:
                grad.mul_(0.5)
        if not everything:
            grad = torch.zeros_like(t).index_copy_(0, rows, grad)
        grads.append(grad)
    return grads


def _shape_grads(grads, shapes, batch):
    """Map flattened gradients back to the input shapes, summing over broadcast dimensions."""
    out = []
    cores = (2, 1, 2, 1, 2, 1)
    for grad, shape, core in zip(grads, shapes, cores):
        if grad is None or shape is None:
            out.append(None)
            continue
        if core == 2 and grad.ndim == 2:
            out.append(grad.reshape(shape))
            continue
        full = grad.reshape(*batch.batch_shape, *grad.shape[1:])
        out.append(full.sum_to_size(shape))
    return tuple(out)
