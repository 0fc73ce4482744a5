"""Per-element solver status."""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """Outcome of one QP in a batch.

    ``status`` tensors returned by :func:`optlayer.runtime.solve_qp` hold these integer values.
    Only ``SOLVED`` elements carry a solution; all others have NaN in ``z``, ``lam`` and ``nu``.
    """

    SOLVED = 0
    """Primal residual, dual residual and duality gap meet the tolerances on the original data."""
    INFEASIBLE = 1
    """A certificate of primal infeasibility was found: no z satisfies Gz <= h, Az = b."""
    DUAL_INFEASIBLE = 2
    """A certificate of dual infeasibility was found: the objective is unbounded below."""
    MAX_ITER = 3
    """The iteration limit was reached before convergence or a certificate."""
    NUMERICAL = 4
    """Non-finite input data, or a numerical breakdown: repeated failed factorizations, a
    non-finite iterate, or no progress left at the rounding floor of the tolerances."""
