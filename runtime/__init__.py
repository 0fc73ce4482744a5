"""Batched, differentiable QP solver (primal-dual interior point). Knows nothing of the language.

from optlayer.runtime import solve_qp, Status
res = solve_qp(Q, q, G, h, A, b)
res.z, res.lam, res.nu, res.status, res.iterations
"""

from .options import SolverOptions
from .solve import QPSolution, solve_qp
from .status import Status

__all__ = ["QPSolution", "SolverOptions", "Status", "solve_qp"]
