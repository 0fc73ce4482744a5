"""Solver options: every tolerance and regularization constant, named and documented.

Fields left at ``None`` take a default that depends on the floating dtype of the problem
(see :data:`FLOAT64_DEFAULTS` and :data:`FLOAT32_DEFAULTS`). Float32 defaults are looser because
the Newton systems of an interior-point method become ill-conditioned as the complementarity gap
shrinks; at float32's unit roundoff (6e-8) residuals of about 1e-5 relative are the most one can
reliably reach, and regularization has to stay larger to keep the Cholesky factorizations stable.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

KKTForm = Literal["auto", "primal", "dual"]


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """Options of :func:`optlayer.runtime.solve_qp`.

    Regularization constants refer to the equilibrated problem (data scaled by Ruiz
    equilibration and the objective scaled to unit size), so they are independent of the units
    of the caller's data.
    """

    eps_abs: float | None = None
    """Absolute tolerance of the stopping test (primal residual, dual residual, duality gap and
    complementarity sᵀλ, all on the original data). Default 1e-10 (float64), 1e-5 (float32)."""
    eps_rel: float | None = None
    """Relative tolerance of the stopping test: each residual may also be ``eps_rel`` times the
    largest of the terms it is made of (max(|Ax|, |b|, |Gx|, |h|) for the primal residual,
    max(|Qx|, |q|, |Aᵀν + Gᵀλ|) for the dual one, max(|xᵀQx|, |qᵀx|, |bᵀν + hᵀλ|) for the gap)."""
    complementarity_factor: float | None = None
    """The complementarity sᵀλ must be below this factor times the gap's tolerance. At a weakly
    active constraint (λ and slack both near 0) the error of z is of the order of √(sᵀλ) rather
    than sᵀλ, so driving the complementarity further than the residuals is what makes z (and its
    gradients) accurate on degenerate problems; it costs about one iteration. Default 1e-2
    (float64), 1 (float32, where sᵀλ cannot go much below the residuals)."""
    eps_infeasible: float | None = None
    """Tolerance of the infeasibility certificates, relative to the size of the certificate
    (in the equilibrated problem). Default 1e-4 for both dtypes, as OSQP's: the certificate of an
    unbounded problem, the displacement of x from its proximal centre, carries a bounded part
    whose relative size falls only like 1/‖x‖, and at 1e-6 random unbounded problems took up to
    130 iterations to be recognised (48 at 1e-4; Maros–Meszaros is unaffected)."""
    max_iter: int = 200
    """Interior-point iteration limit per batch element (random problems need 6-16 iterations,
    the hardest solved Maros–Meszaros problems up to about 125)."""
    rho: float | None = None
    """Primal proximal regularization: rho * I is added to the Hessian in every Newton system.
    Fixed during a solve so that the part of the KKT factorization that does not depend on the
    iterate is computed once."""
    delta_eq: float | None = None
    """Dual proximal regularization of the equality constraints (fixed during a solve, for the
    same reason as ``rho``)."""
    delta_init: float | None = None
    """Initial dual proximal regularization of the inequality constraints."""
    delta_min: float | None = None
    """Lower limit of the inequality regularization, which decreases with the complementarity gap."""
    tau: float = 0.99
    """Fraction-to-the-boundary factor of the step length far from the solution; it grows towards
    0.999 as the complementarity gap closes."""
    ruiz_iter: int = 10
    """Largest number of Ruiz equilibration sweeps (fewer once the data are equilibrated)."""
    refine_steps: int = 1
    """Iterative-refinement steps, towards the unregularized Newton system, for the elements whose
    proximal centre has stalled (where the regularization would slow convergence)."""
    backward_refine_steps: int = 4
    """Iterative-refinement steps of the backward (implicit differentiation) solve, against the
    unregularized KKT system."""
    max_factor_retries: int = 8
    """Consecutive failed factorizations of one element (each followed by a 100x increase of its
    regularization) before it is declared NUMERICAL."""
    kkt: KKTForm = "auto"
    """Reduced Newton system: ``"primal"`` factors an n x n matrix each iteration, ``"dual"`` factors
    an m x m Schur complement each iteration after one n x n factorization per solve; ``"auto"``
    picks the one with fewer flops for the problem's shape, and the primal one whenever the
    n x n part is too ill-conditioned for an accurate Schur complement (LPs, singular Q)."""
    polish: bool = True
    """Once at most half of the batch is still running, try for those elements, each iteration,
    the exact solution of the equality-constrained QP that their active-set guess defines, and
    accept it where it passes the stopping test (see :mod:`optlayer.runtime.polish`): it ends the
    slow last iterations of elements with weakly active constraints."""
    retry_in_float64: bool = True
    """Solve float32 elements that end NUMERICAL or MAX_ITER again in float64 (same options) and
    round the results to float32 (see :mod:`optlayer.runtime.forward`). Turn it off when a small
    ``max_iter`` is meant to truncate the solve: the retry would run it a second time."""

    def resolved(self, dtype: torch.dtype) -> SolverOptions:
        """These options with every ``None`` replaced by the default for ``dtype``."""
        defaults = FLOAT64_DEFAULTS if dtype == torch.float64 else FLOAT32_DEFAULTS
        filled = {k: (defaults[k] if getattr(self, k) is None else getattr(self, k)) for k in defaults}
        resolved = dataclasses.replace(self, **filled)
        resolved.validate()
        return resolved

    def validate(self) -> None:
        """Raise ValueError for out-of-range values."""
        for name in ("eps_abs", "eps_rel"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"SolverOptions.{name} must be nonnegative, got {value}")
        for name in ("complementarity_factor", "eps_infeasible", "rho", "delta_eq", "delta_init", "delta_min"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"SolverOptions.{name} must be positive, got {value}")
        if not 0 < self.tau < 1:
            raise ValueError(f"SolverOptions.tau must lie in (0, 1), got {self.tau}")
        for name in ("max_iter", "ruiz_iter", "refine_steps", "backward_refine_steps", "max_factor_retries"):
            value = getattr(self, name)
            least = 1 if name == "max_iter" else 0
            if not isinstance(value, int) or value < least:
                kind = "a positive" if least else "a non-negative"
                raise ValueError(f"SolverOptions.{name} must be {kind} integer, got {value!r}")
        for name in ("polish", "retry_in_float64"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(f"SolverOptions.{name} must be True or False, got {value!r}")
        if self.kkt not in ("auto", "primal", "dual"):
            raise ValueError(f"SolverOptions.kkt must be 'auto', 'primal' or 'dual', got {self.kkt!r}")


FLOAT64_DEFAULTS = dict(
    eps_abs=1e-10,
    eps_rel=1e-10,
    complementarity_factor=1e-2,
    eps_infeasible=1e-4,
    rho=1e-13,
    delta_eq=1e-9,
    delta_init=1e-4,
    delta_min=1e-10,
)
"""Defaults for float64. The tolerances are tighter than the usual 1e-8 because the layer's
gradients are only as accurate as its solution: near-degenerate constraints (small multiplier,
small slack) keep an error of order sqrt(mu) in z, and at 1e-8 that left gradients off by several
percent on the random benchmark problems with n >= 100 (about 0.1-0.5 % at 1e-10), for one or two
more iterations. rho and delta_eq are tiny because larger values slow the proximal iteration on
LP-like problems (Maros–Meszaros); failed factorizations raise them per element."""

FLOAT32_DEFAULTS = dict(
    eps_abs=1e-5,
    eps_rel=1e-5,
    complementarity_factor=1.0,
    eps_infeasible=1e-4,
    rho=1e-6,
    delta_eq=1e-4,
    delta_init=1e-3,
    delta_min=1e-4,
)
"""Defaults for float32 (unit roundoff 6e-8). The dual regularizations stay at 1e-4 so that the
reduced KKT matrices (whose largest entries grow like 1/delta) keep a condition number that a
float32 Cholesky factorization can handle; the proximal iteration still converges to the
unregularized solution."""
