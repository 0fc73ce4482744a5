"""Gradients against cvxpylayers on DPP models (cvxpylayers run with SCS at eps 1e-10)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import torch

import optlayer
from optlayer.runtime import SolverOptions

cvxpylayers_torch = pytest.importorskip("cvxpylayers.torch")


def _compare(layer, ours: dict, problem: cp.Problem, parameters: list, variable: cp.Variable, name: str) -> None:
    theirs = cvxpylayers_torch.CvxpyLayer(problem, parameters=parameters, variables=[variable])
    weights = torch.randn(variable.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    leaves = {k: v.clone().requires_grad_() for k, v in ours.items()}
    (layer(**leaves)[name] * weights).sum().backward()
    their_leaves = [v.clone().requires_grad_() for v in ours.values()]
    (solution,) = theirs(
        *their_leaves, solver_args={"solve_method": "SCS", "eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 100000}
    )
    (solution * weights).sum().backward()
    for (key, mine), other in zip(leaves.items(), their_leaves):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), atol=2e-4, rtol=2e-3, err_msg=key)


def test_simplex_projection_gradients_match():
    layer = optlayer.compile(
        "dimension n = 6\nparameter y[n]\nvariable x[n] nonneg\nminimize sum_squares(x - y)\nsubject to\n    sum(x) == 1\n"
    )
    layer.options = SolverOptions(eps_abs=1e-12, eps_rel=1e-12)
    y_value = torch.tensor([0.9, 0.3, -0.2, 0.5, 0.05, -1.0], dtype=torch.float64)
    y, x = cp.Parameter(6), cp.Variable(6, nonneg=True)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(x - y)), [cp.sum(x) == 1])
    _compare(layer, {"y": y_value}, problem, [y], x, "x")


def test_lasso_gradients_match():
    rng = np.random.default_rng(0)
    m, n = 12, 5
    layer = optlayer.compile(
        f"dimension m = {m}\ndimension n = {n}\nparameter X[m, n]\nparameter y[m]\nparameter lam nonneg\n"
        "variable beta[n]\nminimize sum_squares(X @ beta - y) + lam * norm1(beta)\n"
    )
    layer.options = SolverOptions(eps_abs=1e-12, eps_rel=1e-12)
    values = {
        "X": torch.tensor(rng.normal(size=(m, n))),
        "y": torch.tensor(rng.normal(size=m)),
        "lam": torch.tensor(0.8, dtype=torch.float64),
    }
    X, y, lam, beta = cp.Parameter((m, n)), cp.Parameter(m), cp.Parameter(nonneg=True), cp.Variable(n)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(X @ beta - y) + lam * cp.norm1(beta)))
    _compare(layer, values, problem, [X, y, lam], beta, "beta")
