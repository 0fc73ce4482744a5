"""Active-set polishing: the exact solution of the equality-constrained QP that the iterate's
guess of the active set defines.

Near a solution the interior-point iterate tells active constraints (s_i small against λ_i) from
inactive ones. Fixing that guess, the QP's solution solves one linear system,

    Q x + q + Aᵀ y + G_𝒜ᵀ λ_𝒜 = 0,    A x = b,    G_𝒜 x = h_𝒜,    λ_ℐ = 0,

whose solution is optimal whenever the guess was right (λ_𝒜 ≥ 0 and G_ℐ x ≤ h_ℐ); the caller
judges it with the ordinary stopping test. Elements with a weakly active constraint (slack at
the optimum small but not zero) otherwise spend several iterations with the complementarity
falling only about eightfold per iteration (Mehrotra's centring stays high while the pair's
linearization is poor): on the n = 10 speed case one element in 128 needed 14 iterations where
the others needed 6 to 10.

The system is the Newton system of :mod:`kkt` at a fictitious iterate: for an active pair
(s, λ) = (0, 1), so that ds = −s; for an inactive pair s = 1 and λ the unit roundoff (in
equilibrated units), so that dλ = −λ and the row all but leaves the reduced matrix. It is
factored with the smallest inequality regularization and refined towards the unregularized
system.
"""

from __future__ import annotations

import torch

POLISH_REFINE_STEPS = 1
"""Iterative-refinement steps of the polishing solve against the unregularized system."""


def polish(kkt, ops, st, x, v, s, r_d, r_full, opts):
    """The polished packed iterate [x; y; λ; s] (B, n + p + 2m) of every element and a (B,) flag,
    False where the factorization failed or the result is not finite. ``r_d`` = Qx + q + Aᵀy +
    Gᵀλ and ``r_full`` = [Ax − b; Gx + s − h] are the iterate's residuals.

    The pair values are kept strictly positive, with ratios s/λ within the unit roundoff's
    reciprocal (in equilibrated units), so that the backward pass's Newton system stays finite."""
    p = kkt.p
    z = v[:, p:]
    unit_G = st.unit_G
    eps = torch.finfo(x.dtype).eps
    active = s < unit_G * z
    s_f = torch.where(active, 0.0, 1.0)
    z_f = torch.where(active, 1.0, eps / unit_G)
    ok = kkt.factor(opts.delta_min * unit_G, s_f / z_f)
    rhs = (-r_d, -r_full[:, :p], -r_full[:, p:], torch.where(active, -s, -z))
    sol = kkt.refine(kkt.newton(rhs, s_f, z_f), rhs, s_f, z_f, POLISH_REFINE_STEPS, regularized=False)
    dx, dy, dz, _ = sol
    x_new = x + dx
    z_new = torch.where(active, z + dz, 0.0).clamp_(min=0)
    s_new = (st.g[:, p:] - ops.inequality_rows(x_new)).clamp_(min=0)
    tiny = torch.finfo(x.dtype).tiny
    s_out = torch.maximum(s_new, eps * unit_G * z_new).clamp_(min=tiny)
    z_out = torch.maximum(z_new, eps * s_new / unit_G).clamp_(min=tiny)
    w = torch.cat((x_new, v[:, :p] + dy, z_out, s_out), dim=1)
    return w, ok & w.isfinite().all(1)
