"""Batched proximal primal-dual interior-point iteration (Mehrotra predictor-corrector).

The method follows PIQP (Schwan, Jiang, Kuhn, Jones 2023): an interior-point method applied to
the proximal-method-of-multipliers subproblem

    min ½xᵀQx + qᵀx + ½‖x − ξ‖²_{R_x} + ½‖y‖²_{R_A} + ½‖z‖²_{R_G}
        s.t. Ax − R_A(y − η) = b,  Gx + s − R_G(z − ζ) = h,  s ≥ 0,

whose regularized KKT matrices are quasi-definite for any convex QP: LPs, singular Q, free
variables, redundant equality rows. A proximal centre (ξ for x, (η, ζ) for the multipliers) moves
to the current iterate when the corresponding residual of the original problem fell by 5 %, or
when the subproblem is solved (its residual is a tenth of the original one, so only the proximal
term is left): the outer iteration is then a proximal-point step and converges to a solution of
the original problem.

R_x = rho and R_A = delta_eq are tiny and fixed during a solve, so the part of the factorization
that depends on them is computed once (see :mod:`kkt`); they only grow, per element and by
FAILURE_REG_FACTOR, when a factorization fails. R_G = delta starts at ``delta_init`` and shrinks
with the complementarity gap (PIQP's rule) down to ``delta_min``; while the multipliers' centre is
stalled it shrinks faster. Primal (x, s) and dual (y, z) variables take one common step length:
with separate ones (as in PIQP) the dual residual Qx + q + Aᵀy + Gᵀz no longer falls by the step
length, and on some strictly convex QPs (a learned Sudoku layer) the iteration cycled. The
corrector's second-order term ds·dz is weighted by the predictor's step length (a weighted
corrector in the manner of Colombo and Gondzio): at weakly active pairs the full term threw
iterates off the central path and Mehrotra's method cycled with mu going up and down; the
weighting costs about 10 % more iterations on Maros–Meszaros. The step is then shortened, if
needed, so that no complementarity product s_i z_i falls below a small fraction of their mean (a
wide neighbourhood of the central path, see :func:`_centred_step`): without it one pair could fall
far off the path, block the next predictor, and the iteration settled into a cycle of period
four (mu between 2e-6 and 1e-5) on a learned Sudoku QP. Iterative refinement towards the *unregularized* Newton
system (the regularized solve acting as preconditioner) is applied to elements whose proximal
centre has stalled for REFINE_STALL iterations, which is where the regularization would
otherwise slow convergence.

All regularizations live in the equilibrated problem (:mod:`equilibrate`); the iterates and the
stopping test live in the caller's units, so the tolerances apply to the original data. An
element is SOLVED when, with eps = eps_abs + eps_rel · (size of the terms),

    primal residual  max(|Ax − b|, [Gx − h]⁺)                 <= eps,
    dual residual    |Qx + q + Aᵀy + Gᵀz|                     <= eps,
    duality gap      |xᵀQx + qᵀx + bᵀy + hᵀz|                 <= eps,
    complementarity  sᵀz                      <= complementarity_factor · eps (gap's reference),

all as infinity norms on the original data.

Infeasibility is detected from certificates. When a problem is primal infeasible the proximal
centres (η, ζ) stop moving and (y − η, z − ζ) grows in the direction of a Farkas certificate
(Aᵀȳ + Gᵀz̄ = 0, z̄ ≥ 0, bᵀȳ + hᵀz̄ < 0); when it is dual infeasible x − ξ grows in the direction of
a ray (Qx̄ = 0, Ax̄ = 0, Gx̄ ≤ 0, qᵀx̄ < 0). Both are tested, in the equilibrated norms and relative
to the size of the candidate, for elements whose proximal centre has stalled.

Once at most half of the batch is still running, each iteration also polishes the running
elements (:mod:`polish`): it solves the equality-constrained QP of their active-set guess and
accepts the result where it passes the stopping test above. This ends the slow last iterations of
elements with a weakly active constraint (``SolverOptions.polish`` turns it off).

Every element of the batch runs the same iteration independently; elements that have finished
(solved, certificate found, failed) are recorded and leave the active set, which is compacted
once at least half of it has finished, so that finished elements soon stop costing time (on a
GPU, small problems, whose cost there is per operation rather than per element, are not compacted).
The only host synchronization per iteration is the transfer of the per-element status codes.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from . import kkt as kkt_module
from . import polish as polish_module
from .batching import Batch
from .equilibrate import Scaling
from .operators import Operators
from .options import SolverOptions
from .status import Status

PROX_DECREASE = 0.95
"""A proximal centre moves to the iterate when its residual fell below this fraction of the previous one."""
SUBPROBLEM_TOLERANCE = 0.1
"""A proximal centre also moves when the residual of the regularized subproblem is below this
fraction of the original residual: the subproblem is solved and a proximal-point step is due."""
STALL_ITERATIONS = 5
"""Consecutive iterations without a move of the multipliers' centre before delta shrinks faster."""
DELTA_STALL_FACTOR = 0.1
"""Per-iteration reduction of delta while the multipliers' centre is stalled: lets (y − η, z − ζ)
grow into an infeasibility certificate instead of saturating at residual/delta, and sharpens the
Newton steps on hard feasible problems."""
MU_RATE_DAMPING = 0.666
"""delta shrinks by (1 − rate) when the multipliers' centre moved, by (1 − MU_RATE_DAMPING·rate)
otherwise, where rate is the relative decrease of mu in the last step (PIQP's schedule)."""
FAILURE_DELTA_FACTOR = 100.0
"""Factor by which delta of an element grows after a failed factorization."""
FAILURE_REG_FACTOR = 100.0
"""Factor by which the fixed regularizations (rho, delta_eq) of an element grow after a failed
factorization; its part of the fixed factorization is then recomputed."""
DELTA_MAX = 1.0
"""Upper limit of delta after failure-driven increases."""
TAU_MAX = 0.999
"""The fraction-to-the-boundary factor is max(tau, 1 − mu) (mu in equilibrated units), capped
here: steps get longer as the iterates approach the solution, which shortens the end game."""
MU_FLOOR = 1e-10
"""Lower limit of the complementarity measure used to centre the starting point."""
DUAL_MIN_PIVOT = 1e-4
"""The dual reduction (Schur complement G H⁻¹ Gᵀ) is used only when every pivot of H's Cholesky
factor, in the equilibrated problem, is at least this large: with a near-singular H (LPs,
singular Q) the Schur complement loses all accuracy, while the primal reduction stays usable."""
CERTIFICATE_STALL = 2
"""Infeasibility certificates are tested for elements whose proximal centre has made no progress
for this many consecutive iterations (before that, the displacement is an ordinary step)."""
REFINE_STALL = 2
"""Iterative refinement (towards the unregularized Newton system) is applied to the elements whose
proximal centre has made no progress for this many consecutive iterations."""
COMPACT_FRACTION = 0.5
"""The active set is compacted when at most this fraction of it is still running ..."""
COMPACT_MIN_WORK = 1e7
"""... and, on a GPU, the finished elements account for at least this many flops per iteration
(about n²(n + m + p) each): below that, a GPU iteration costs the same with or without them, since
its time is the fixed cost of each kernel launch. On the CPU the active set is compacted whatever
the size: batched factorizations, triangular solves and products pay about a microsecond per
matrix and call even for tiny matrices (compacting cut the forward time of 128 QPs with n = 10
by about 8 %, where one element needs 14 iterations and most need 8)."""
POLISH_FRACTION = 0.5
"""With ``SolverOptions.polish``, the running elements are polished (:mod:`polish`) once at most
this fraction of the batch is still running: by then the stragglers are the elements with weakly
active constraints, whose last iterations polishing saves (the n = 10 speed case: 14 iterations
down to 9, forward 20 -> 15 ms). Earlier, an attempt would cost a factorization of the whole
batch for elements that finish by themselves an iteration later."""
NEIGHBOURHOOD = 1e-3
"""Steps keep every complementarity product s_i z_i at least this fraction of their mean (the
wide neighbourhood N₋∞ of the central path) ..."""
NEIGHBOURHOOD_KEEP = 0.5
"""... or, while an iterate is outside it, at least this fraction of its current smallest ratio."""
BACKTRACK = 0.7
"""Factor by which a step that leaves the neighbourhood is shortened ..."""
BACKTRACK_TRIALS = 8
"""... at most this many times less one (all trials are evaluated at once)."""
STAGNATION_WINDOW = 10
"""Every this many iterations, an element is NUMERICAL if its complementarity mu (equilibrated) has
collapsed below the squared unit roundoff while its best residual (the largest ratio of primal
residual, dual residual and gap to their tolerances) fell by less than STAGNATION_DECREASE over
the window. It has reached the rounding floor of its tolerances (on Maros–Meszaros QFORPLAN at
1e-6 the duality gap is a difference of terms of 1e12, whose rounding alone is 2e-4): its iterate
sits on the boundary, mu falls a thousandfold per iteration, and the residuals only oscillate,
until mu underflows about 100 iterations later. A collapsed mu alone is not enough: the proximal
iteration can still bring the residuals down (QSHARE1B is solved 10 iterations after its mu
collapsed)."""
STAGNATION_DECREASE = 0.9
"""See STAGNATION_WINDOW."""
RUNNING = -1


@dataclasses.dataclass
class IPMResult:
    """Final iterates and statuses of a whole batch, plus what the backward pass reuses."""

    x: torch.Tensor
    y: torch.Tensor
    z: torch.Tensor
    s: torch.Tensor
    status: torch.Tensor
    iterations: torch.Tensor
    kkt: kkt_module.KKT
    primal_residual: torch.Tensor
    dual_residual: torch.Tensor
    duality_gap: torch.Tensor
    unit_G: torch.Tensor
    """(B, m): the inequality regularization per unit of delta, in the caller's units."""


class _State:
    """Per-element tensors of the elements still in the active set (first dimension B')."""

    def __init__(self, **tensors: torch.Tensor):
        self.__dict__.update(tensors)

    def select(self, keep: torch.Tensor) -> _State:
        return _State(**{k: v.index_select(0, keep) for k, v in self.__dict__.items()})


def _norms(*vectors: torch.Tensor) -> torch.Tensor:
    """Row-wise infinity norms of equally shaped (B, k) tensors, as a (len, B) tensor."""
    if not vectors[0].shape[-1]:
        return vectors[0].new_zeros(len(vectors), vectors[0].shape[0])
    return torch.stack(vectors).abs_().amax(-1)


def _step_lengths(neg_inv: torch.Tensor, dzs: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """(B, 1): tau (B, 1) times the largest step in [0, 1] along dzs that keeps the packed pairs
    zs = [z; s] nonnegative; ``neg_inv`` is −1/zs (computed once for both steps of an iteration)."""
    return tau / torch.mul(dzs, neg_inv).amax(1, keepdim=True).clamp_(min=1.0)


def _centred_step(comp, mu, zs, dzs, alpha, m):
    """(B, 1): the longest of the steps alpha·BACKTRACK^j (j < BACKTRACK_TRIALS) after which every
    complementarity product s_i z_i is at least NEIGHBOURHOOD times their mean (or, for an iterate
    already outside that neighbourhood, at least NEIGHBOURHOOD_KEEP times its own smallest ratio);
    the shortest trial if none is. ``comp`` = s∘z and ``mu`` (B,) its mean, at the packed iterate
    zs = [z; s] (B, 2m); ``dzs`` the packed step. Staying in this wide neighbourhood of the
    central path keeps Mehrotra's method from cycling at weakly active pairs."""
    ratio = comp.amin(1, keepdim=True) / mu.unsqueeze(1)
    floor = torch.clamp(ratio * NEIGHBOURHOOD_KEEP, max=NEIGHBOURHOOD)
    trials = alpha * _backtrack_factors(alpha.dtype, alpha.device)
    zs_new = torch.addcmul(zs.unsqueeze(1), trials.unsqueeze(2), dzs.unsqueeze(1))
    comp_new = zs_new[..., :m] * zs_new[..., m:]
    inside = comp_new.amin(2) >= floor * comp_new.mean(2)
    inside[:, -1] = True
    return trials.gather(1, inside.int().argmax(1, keepdim=True))


@functools.cache
def _backtrack_factors(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(BACKTRACK_TRIALS,): 1, BACKTRACK, BACKTRACK², ..., made once per dtype and device."""
    return BACKTRACK ** torch.arange(BACKTRACK_TRIALS, dtype=dtype, device=device)


def _starting_point(kkt, q, g, unit_G, e_G, c, delta):
    """PIQP's start: one regularized Newton solve with s = z = 1 (in the equilibrated problem),
    then a shift into the interior that centres every complementarity pair at the same mu."""
    p, m = kkt.p, kkt.m
    ok = kkt.factor(delta.unsqueeze(1) * unit_G, unit_G)
    b, h = g[:, :p], g[:, p:]
    x, y, z, _ = kkt.newton((-q, b, h, torch.zeros_like(h)), unit_G, torch.ones_like(unit_G))
    ok = ok & x.isfinite().all(1) & y.isfinite().all(1) & z.isfinite().all(1)
    if not m:
        return x, y, z, torch.zeros_like(h), ok
    zt = c.unsqueeze(1) * z / e_G
    shift_s = zt.amax(1, keepdim=True).clamp(min=0)
    shift_z = (-zt).amax(1, keepdim=True).clamp(min=0)
    mu = ((shift_s - zt) * (zt + shift_z)).mean(1, keepdim=True).clamp(min=MU_FLOOR)
    z_new = 0.5 * (zt + torch.sqrt(zt * zt + 4 * mu))
    s_new = z_new - zt
    # Cancellation can leave one member of a pair exactly 0 (in float32, when mu is tiny against
    # zt²); that member then comes from z s = mu instead.
    z_new = torch.where(z_new > 0, z_new, mu / s_new)
    s_new = torch.where(s_new > 0, s_new, mu / z_new)
    return x, y, e_G * z_new / c.unsqueeze(1), s_new / e_G, ok


def _dual_is_accurate(kkt: kkt_module.DualKKT, unit_x: torch.Tensor) -> bool:
    """Whether H's factorization succeeded for every element with every pivot, in the equilibrated
    problem (``unit_x`` converts), at least DUAL_MIN_PIVOT. When the only elements that fail are
    those whose factorization broke down, these get one retry with stronger fixed regularization
    (``kkt`` changes in place): in float32, rounding alone breaks the factorization of a well-posed
    H = Q + AᵀA/delta_eq with many equality rows, and the primal reduction, whose matrix adds
    Gᵀ T⁻¹ G, is worse conditioned still (n = m = 500, p = 100: 22 of 24 random problems ended at
    the iteration limit that way). LPs and singular Q keep failing and go to the primal reduction."""

    def accurate() -> torch.Tensor:
        pivots = kkt.U_H.diagonal(dim1=-2, dim2=-1) ** 2 * unit_x
        return kkt.setup_ok() & (pivots.amin(1) >= DUAL_MIN_PIVOT)

    good, broken = accurate(), ~kkt.setup_ok()
    if bool(broken.any()) and bool((good | broken).all()):
        kkt.strengthen(broken.nonzero().squeeze(1), FAILURE_REG_FACTOR)
        good = accurate()
    return bool(good.all())


def _setup(batch: Batch, ops: Operators, scaling: Scaling, opts: SolverOptions):
    """The KKT system (with the reduction chosen for shape and conditioning) and the start."""
    B, n, m, p = batch.size, batch.n, batch.m, batch.p
    c = scaling.c.unsqueeze(1)
    reg_x = (opts.rho / (c * scaling.d**2)).expand(B, n).contiguous()
    reg_A = (opts.delta_eq * c / scaling.e_A**2).expand(B, p).contiguous()
    unit_G = (c / scaling.e_G**2).expand(B, m)
    form = kkt_module.choose_form(n, m, opts.kkt)
    if form == "dual" and opts.kkt == "auto":
        kkt = kkt_module.build(form, ops, reg_x.clone(), reg_A.clone())
        if not _dual_is_accurate(kkt, c * scaling.d**2):
            kkt = kkt_module.build("primal", ops, reg_x, reg_A)
    else:
        kkt = kkt_module.build(form, ops, reg_x, reg_A)
    g = torch.cat((batch.b, batch.h), dim=1)
    delta = torch.full((B,), opts.delta_init, dtype=batch.q.dtype, device=batch.q.device)
    for attempt in range(opts.max_factor_retries + 1):
        x, y, z, s, ok = _starting_point(kkt, batch.q, g, unit_G, scaling.e_G, scaling.c, delta)
        ok &= kkt.setup_ok()
        if attempt == opts.max_factor_retries or bool(ok.all()):
            break
        failed = (~ok).nonzero().squeeze(1)
        kkt.strengthen(failed, FAILURE_REG_FACTOR)
        delta[failed] = (delta[failed] * FAILURE_DELTA_FACTOR).clamp(max=DELTA_MAX)
    keep = ok.unsqueeze(1)
    x = torch.where(keep, x, 0.0)
    v = torch.where(keep, torch.cat((y, z), dim=1), torch.cat((torch.zeros_like(y), scaling.e_G.expand(B, m) / c), 1))
    s = torch.where(keep, s, (1 / scaling.e_G).expand(B, m))
    return kkt, g, unit_G, delta, x, v, s, ok


def solve(batch: Batch, ops: Operators, scaling: Scaling, opts: SolverOptions) -> IPMResult:
    """Run the interior-point method on every element of ``batch`` (all with finite data);
    ``ops`` holds the batch's Q, A, G."""
    B, n, m, p = batch.size, batch.n, batch.m, batch.p
    dtype, device = batch.q.dtype, batch.q.device
    full_kkt, g, unit_G, delta, x, v, s, start_ok = _setup(batch, ops, scaling, opts)
    c = scaling.c
    e = torch.cat((scaling.e_A, scaling.e_G), dim=1).expand(B, p + m)
    w_dual = (c.unsqueeze(1) * scaling.d).expand(B, n)
    st = _State(
        index=torch.arange(B, device=device),
        q=batch.q,
        g=g,
        c=c,
        unit_G=unit_G,
        w_dual=w_dual,
        w_prim=e,
        w_x=(1 / scaling.d).expand(B, n),
        w_v=c.unsqueeze(1) / e,
        w_K=torch.cat((w_dual, e), dim=1),
        reg_v=torch.cat((full_kkt.reg_A, delta.unsqueeze(1) * unit_G), dim=1),
        w=torch.cat((x, v, s), dim=1),
        xi=x,
        vc=v,
        delta=delta,
        mu=(s * v[:, p:]).mean(1) if m else torch.zeros(B, dtype=dtype, device=device),
        mu_rate=torch.zeros(B, dtype=dtype, device=device),
        prev=torch.full((B, 2), float("inf"), dtype=dtype, device=device),
        stall=torch.zeros(B, 2, dtype=torch.int64, device=device),
        failures=torch.where(start_ok, 0, opts.max_factor_retries + 1),
        best=torch.full((B,), float("inf"), dtype=dtype, device=device),
        checkpoint=torch.full((B,), float("inf"), dtype=dtype, device=device),
    )
    st.live = torch.ones(B, 1, dtype=dtype, device=device)
    kkt = full_kkt
    out_w = torch.empty(B, n + p + 2 * m, dtype=dtype, device=device)
    res_out = torch.empty(3, B, dtype=dtype, device=device)
    final_code = np.full(B, RUNNING, dtype=np.int64)
    final_iteration = np.zeros(B, dtype=np.int64)
    running = np.ones(B, dtype=bool)
    index_host = np.arange(B)
    min_work = COMPACT_MIN_WORK if device.type == "cuda" else 0.0
    work = n * n * (n + m + p)
    mu_collapsed = torch.finfo(dtype).eps ** 2
    stalled = refine = polish_now = False

    for k in range(opts.max_iter + 1):
        x, v, s, P, Ctv, r_full, terms = _residuals(ops, st, st.w, n, p, m)
        r_d = terms[0]
        reg_d = torch.addcmul(r_d, kkt.reg_x, x - st.xi)
        reg_p = torch.addcmul(r_full, st.reg_v, v - st.vc, value=-1)
        res, bound, nN, nV = _stopping_test(
            (*terms, st.mu * m),
            opts,
            (st.w_dual * r_d, st.w_dual * reg_d),
            (st.w_prim * r_full, st.w_prim * reg_p),
        )
        within = res <= bound
        if polish_now and m:
            cand_w, ok = polish_module.polish(kkt, ops, st, x, v, s, r_d, r_full, opts)
            cand_res, cand_bound = _test_point(ops, st, cand_w, n, p, m, opts)
            accept = ok & (cand_res <= cand_bound).all(0) & ~within.all(0) & (st.live[:, 0] > 0)
            st.w = torch.where(accept.unsqueeze(1), cand_w, st.w)
            res = torch.where(accept, cand_res, res)
            within = within | accept
        if m:
            st.best = torch.minimum(st.best, (res[:3] / bound[:3]).amax(0))

        # Proximal centres and the inequality regularization, in the equilibrated norms.
        scaled = torch.stack((nV[0], nN[0]), dim=1)
        progress = (scaled < PROX_DECREASE * st.prev) | within[:2].T
        moved = progress | (torch.stack((nV[1], nN[1]), dim=1) <= SUBPROBLEM_TOLERANCE * scaled)
        st.prev = scaled
        st.stall = (st.stall + 1).masked_fill_(progress, 0)
        shrink = 1 - torch.where(moved[:, 0], st.mu_rate, MU_RATE_DAMPING * st.mu_rate)
        shrink.masked_fill_(st.stall[:, 0] > STALL_ITERATIONS, DELTA_STALL_FACTOR)
        st.delta = (st.delta * shrink).clamp_(min=opts.delta_min)

        code = torch.where(st.failures > opts.max_factor_retries, int(Status.NUMERICAL), RUNNING)
        if m and k and k % STAGNATION_WINDOW == 0:
            stuck = (st.best > STAGNATION_DECREASE * st.checkpoint) & (st.c * st.mu < mu_collapsed)
            code.masked_fill_(stuck, int(Status.NUMERICAL))
            st.checkpoint = st.best
        if k == opts.max_iter:
            code.masked_fill_(code == RUNNING, int(Status.MAX_ITER))
        if stalled:
            code = _certificates(code, st, ops, x, v, P, Ctv, n, p, m, opts.eps_infeasible)
        code.masked_fill_(within.all(0), int(Status.SOLVED))
        code.masked_fill_(~res.isfinite().all(0), int(Status.NUMERICAL))
        codes, stall_rows, failed_rows = torch.stack((code, st.stall.amax(1), st.failures)).cpu().numpy()

        finished = running & (codes != RUNNING)
        if finished.any():
            final_code[index_host[finished]] = codes[finished]
            final_iteration[index_host[finished]] = k
            running &= ~finished
            left = int(running.sum())
            compact = left <= COMPACT_FRACTION * len(codes)
            if not left or (compact and (len(codes) - left) * work >= min_work):
                outputs = ((out_w, st.w, 0), (res_out, res[:3], 1))
                _record(st.index, running, outputs)
                if not left:
                    break
                keep = torch.from_numpy(running.nonzero()[0]).to(device)
                st = st.select(keep)
                ops = ops.select(keep)
                kkt = full_kkt.select(st.index, ops)
                index_host, stall_rows, failed_rows = (a[running] for a in (index_host, stall_rows, failed_rows))
                x, v, s = _split(st.w, n, p, m)
                r_d, r_full, reg_d, moved = (t.index_select(0, keep) for t in (r_d, r_full, reg_d, moved))
                running = np.ones(left, dtype=bool)
            else:
                st.live.index_fill_(0, torch.from_numpy(finished.nonzero()[0]).to(device), 0.0)
        polish_now = opts.polish and running.sum() <= POLISH_FRACTION * B
        most_stalled = stall_rows[running].max()
        stalled = most_stalled >= CERTIFICATE_STALL
        refine = most_stalled >= REFINE_STALL
        failed = (running & (failed_rows != 0)).nonzero()[0]
        if failed.size:
            rows = torch.from_numpy(failed).to(device)
            kkt.strengthen(rows, FAILURE_REG_FACTOR)
            if kkt is not full_kkt:
                full_kkt.strengthen(st.index.index_select(0, rows), FAILURE_REG_FACTOR)

        move_x = moved[:, 1:]
        st.xi = torch.where(move_x, x, st.xi)
        st.vc = torch.where(moved[:, :1], v, st.vc)
        rhs_a = torch.where(move_x, r_d, reg_d).neg_()
        st.w = _newton_step(kkt, st, rhs_a, r_full, n, p, m, opts, refine)

    status = torch.from_numpy(final_code).to(device)
    iterations = torch.from_numpy(final_iteration).to(device)
    x, v, s = _split(out_w, n, p, m)
    return IPMResult(
        x,
        v[:, :p],
        v[:, p:],
        s,
        status,
        iterations,
        full_kkt,
        res_out[0],
        res_out[1],
        res_out[2],
        unit_G,
    )


def _stopping_test(terms, opts, dual_extra=(), primal_extra=()):
    """Residuals (4, B) of the stopping test (primal, dual, gap, complementarity) and their
    bounds, from ``terms`` = (r_d, Qx, q, Ctv, violation, Cx, g, x, v, sᵀz); also the row-wise
    infinity norms of ``dual_extra`` and ``primal_extra`` (computed with the others: small
    problems pay per operation)."""
    r_d, Qx, q, Ctv, violation, Cx, g, x, v, comp = terms
    nN = _norms(r_d, Qx, q, Ctv, *dual_extra)
    nV = _norms(violation, Cx, g, *primal_extra)
    dots = torch.stack((torch.linalg.vecdot(x, Qx), torch.linalg.vecdot(q, x), torch.linalg.vecdot(g, v)))
    gap_ref = dots.abs().amax(0)
    res = torch.stack((nV[0], nN[0], dots.sum(0).abs_(), comp))
    ref = torch.stack((nV[1:3].amax(0), nN[1:4].amax(0), gap_ref, gap_ref))
    bound = ref.mul_(opts.eps_rel).add_(opts.eps_abs).clamp_(min=torch.finfo(x.dtype).tiny)
    bound[3] *= opts.complementarity_factor
    return res, bound, nN[4:], nV[3:]


def _residuals(ops, st, w, n, p, m):
    """At the packed iterate ``w``: its views x, v, s; the products P = [Q; C]x and Cᵀv; the
    residual r_full = [Ax − b; Gx + s − h]; and the stopping test's terms (see
    :func:`_stopping_test`) but the complementarity."""
    x, v, s = _split(w, n, p, m)
    P = ops.primal(x)
    Qx, Cx = P[:, :n], P[:, n:]
    Ctv = ops.adjoint(v)
    r_d = torch.add(Qx, st.q).add_(Ctv)
    r_v = Cx - st.g
    if p:
        r_full = torch.cat((r_v[:, :p], r_v[:, p:] + s), dim=1)
        violation = torch.cat((r_v[:, :p], r_v[:, p:].clamp(min=0)), dim=1)
    else:
        r_full, violation = r_v + s, r_v.clamp(min=0)
    return x, v, s, P, Ctv, r_full, (r_d, Qx, st.q, Ctv, violation, Cx, st.g, x, v)


def _test_point(ops, st, w, n, p, m, opts):
    """The stopping test's residuals and bounds at the packed iterate ``w`` (complementarity sᵀλ
    from its own pairs)."""
    _, v, s, _, _, _, terms = _residuals(ops, st, w, n, p, m)
    res, bound, _, _ = _stopping_test((*terms, torch.linalg.vecdot(s, v[:, p:])), opts)
    return res, bound


def _split(w: torch.Tensor, n: int, p: int, m: int):
    """Views x (B, n), v = [y; z] (B, p + m) and s (B, m) of the packed iterate w = [x; y; z; s]."""
    return w[:, :n], w[:, n : n + p + m], w[:, n + p + m :]


def _record(index, running, pairs):
    """Copy the rows of the active set that are no longer ``running`` (a host mask) into the
    batch-wide outputs; ``pairs`` holds (output, value, batch dimension)."""
    rows = torch.from_numpy((~running).nonzero()[0]).to(index.device)
    if not rows.numel():
        return
    where = index.index_select(0, rows)
    for out, value, dim in pairs:
        out.index_copy_(dim, where, value.index_select(dim, rows))


def _certificates(code, st, ops, x, v, P, Ctv, n, p, m, eps_inf):
    """Mark elements whose displacement from the proximal centres is an infeasibility certificate."""
    xbar = x - st.xi
    K_bar = st.w_K * (P - ops.primal(st.xi))
    worst = torch.cat((K_bar[:, : n + p].abs(), K_bar[:, n + p :]), dim=1).amax(1)
    x_norm = (st.w_x * xbar).abs().amax(1)
    descent = st.c * torch.linalg.vecdot(st.q, xbar)
    ray = (st.stall[:, 1] >= CERTIFICATE_STALL) & (x_norm > 0)
    ray &= (worst <= eps_inf * x_norm) & (descent < -eps_inf * x_norm)
    code = torch.where(ray, int(Status.DUAL_INFEASIBLE), code)
    if not p + m:
        return code
    vbar = v - st.vc
    scaled = st.w_v * vbar
    v_norm = scaled.abs().amax(1)
    Ct_bar = (st.w_dual * (Ctv - ops.adjoint(st.vc))).abs().amax(1)
    bound = st.c * torch.linalg.vecdot(st.g, vbar)
    farkas = (st.stall[:, 0] >= CERTIFICATE_STALL) & (v_norm > 0)
    farkas &= (Ct_bar <= eps_inf * v_norm) & (bound < -eps_inf * v_norm)
    if m:
        farkas &= scaled[:, p:].amin(1) >= -eps_inf * v_norm
    return torch.where(farkas, int(Status.INFEASIBLE), code)


def _newton_step(kkt, st, a, r_full, n, p, m, opts, refine):
    """One Mehrotra predictor-corrector step from the packed iterate st.w = [x; y; z; s] with dual
    right-hand side ``a``; returns the new packed iterate. (Keeping the iterate in one tensor makes
    the update one operation instead of one per block: small problems pay per operation.)"""
    w = st.w
    _, v, s = _split(w, n, p, m)
    z = v[:, p:]
    reg_G = st.delta.unsqueeze(1) * st.unit_G
    ok = kkt.factor(reg_G, s / z)
    st.reg_v[:, p:] = reg_G
    bc = st.reg_v * (v - st.vc) - r_full
    b, c = bc[:, :p], bc[:, p:]
    prepared = kkt.prepare(a, b, c)
    if m:
        zs = w[:, n + p :]
        neg_inv = zs.reciprocal().neg_()
        tau = (1 - st.c * st.mu).clamp_(min=opts.tau, max=TAU_MAX).unsqueeze(1)
        comp = s * z
        dz, ds = kkt.slack_step(prepared, -comp, s, z)
        dzs = torch.cat((dz, ds), dim=1)
        alpha = _step_lengths(neg_inv, dzs, tau)
        reached = torch.addcmul(zs, alpha, dzs)
        mu_aff = torch.linalg.vecdot(reached[:, :m], reached[:, m:]) / m
        sigma = (mu_aff / st.mu).clamp_(0, 1) ** 3
        d = torch.addcmul((sigma * st.mu).unsqueeze(1) - comp, alpha, ds * dz, value=-1)
    else:
        d = c
    sol = kkt.solve(prepared, d, s, z)
    if refine and opts.refine_steps:
        refined = kkt.refine(sol, (a, b, c, d), s, z, opts.refine_steps, regularized=False)
        own = (st.stall >= REFINE_STALL).any(1, keepdim=True)
        sol = tuple(torch.where(own, r, u) for r, u in zip(refined, sol))
    dw = torch.cat(sol, dim=1).where(ok.unsqueeze(1), 0.0)
    if m:
        dzs = dw[:, n + p :]
        alpha = _step_lengths(neg_inv, dzs, tau)
        alpha = _centred_step(comp, st.mu, zs, dzs, alpha, m).mul_(st.live)
        w = torch.addcmul(w, alpha, dw)
        w[:, n + p : n + p + m].clamp_(min=torch.finfo(w.dtype).tiny)
        mu_new = torch.linalg.vecdot(w[:, n + p : n + p + m], w[:, n + p + m :]) / m
        st.mu_rate = ((st.mu - mu_new) / st.mu).clamp_(min=0)
        st.mu = mu_new
    else:
        w = torch.addcmul(w, st.live, dw)
    st.failures = torch.where(ok, 0, st.failures + 1)
    st.delta = torch.where(ok, st.delta, (st.delta * FAILURE_DELTA_FACTOR).clamp(max=DELTA_MAX))
    return w
