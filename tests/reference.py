"""Helpers for cross-checking standard forms against cvxpy: random data, solves, read-back."""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import torch

from optlayer.pipeline import standard_form
from optlayer.runtime.parameters import default_value

TOLERANCE = {"objective": 1e-6, "variable": 1e-5}


def random_parameters(sf, rng: np.random.Generator, **fixed) -> dict[str, np.ndarray]:
    """A value for every parameter and learnable: ``fixed`` ones, else the declared default, else
    random values that respect the declared attributes."""
    values = {}
    for spec in sf._compiled()["PARAMETERS"]:
        if spec.name in fixed:
            values[spec.name] = np.asarray(fixed[spec.name], dtype=np.float64)
            continue
        if spec.default is not None and spec.default[0] in ("constant", "zeros", "ones", "eye"):
            values[spec.name] = default_value(spec, torch.float64, torch.device("cpu")).numpy()
            continue
        shape = spec.shape
        if "psd" in spec.attributes:
            factor = rng.normal(size=shape)
            value = factor @ factor.T / shape[0] + 0.1 * np.eye(shape[0])
        else:
            value = rng.normal(size=shape)
            if "symmetric" in spec.attributes:
                value = (value + value.T) / 2
            if "nonneg" in spec.attributes:
                value = np.abs(value)
            if "nonpos" in spec.attributes:
                value = -np.abs(value)
        values[spec.name] = np.asarray(value, dtype=np.float64)
    return values


@dataclass
class Solved:
    objective: float
    z: np.ndarray
    lam: np.ndarray
    nu: np.ndarray


def solve(sf, params: dict[str, np.ndarray]) -> Solved:
    """Solve the standard form evaluated at ``params`` with Clarabel; the objective as the model states it."""
    tensors = {k: torch.tensor(v) for k, v in params.items()}
    Q, q, G, h, A, b = (t.detach().numpy() for t in sf.evaluate(**tensors))
    constant = float(sf.constant(**tensors))
    z = cp.Variable(q.shape[0])
    inequalities = G @ z <= h
    equalities = A @ z == b
    constraints = ([inequalities] if G.shape[0] else []) + ([equalities] if A.shape[0] else [])
    quadratic = 0.5 * cp.quad_form(z, cp.psd_wrap(0.5 * (Q + Q.T)))
    problem = cp.Problem(cp.Minimize(quadratic + q @ z), constraints)
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL, problem.status
    value = problem.value + constant
    lam = inequalities.dual_value if G.shape[0] else np.zeros(0)
    nu = equalities.dual_value if A.shape[0] else np.zeros(0)
    return Solved(-value if sf.sense == "maximize" else value, z.value, np.atleast_1d(lam), np.atleast_1d(nu))


def variable(sf, solved: Solved, name: str) -> np.ndarray:
    segment = sf.variable(name)
    return solved.z[segment.offset : segment.offset + segment.size].reshape(segment.shape)


def dual(sf, solved: Solved, label: str) -> np.ndarray:
    recipe = sf.duals[label]
    parts = []
    for matrix, offset, count, sign in recipe.pieces:
        multipliers = solved.lam if matrix == "G" else solved.nu
        lead = (recipe.loop_rows,) if recipe.loop_rows is not None else ()
        parts.append(sign * multipliers[offset : offset + count].reshape(lead + recipe.shape))
    return parts[0] if len(parts) == 1 else np.stack(parts)


def compile_text(text: str, **dimensions):
    return standard_form(text, "model.opt", dimensions)
