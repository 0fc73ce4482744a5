"""Generated layers against hand-written cvxpy models (tests/models.py), and their gradients.

Every case: the layer's optimal value, variables (where unique) and duals match the
reference within 1e-6 in float64; a directional derivative of the solution (of the optimal
value where the solution is not unique) matches central finite differences; a batch of one
equals the unbatched call; float32 agrees to float32 accuracy.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from models import CASES
from reference import random_parameters

import optlayer
from optlayer import Status
from optlayer.runtime import SolverOptions


def prepared(name: str):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    source, params, reference, variables, duals = CASES[name](rng)
    layer = optlayer.compile(source)
    learnables = {s.name for s in layer.PARAMETERS if s.learnable}
    values = random_parameters(layer.standard_form, rng, **params)
    with torch.no_grad():
        for learnable in learnables:
            getattr(layer, learnable).copy_(torch.as_tensor(_storage_for(layer, learnable, values.pop(learnable))))
    tensors = {k: torch.tensor(v) for k, v in values.items()}
    return layer, tensors, reference, variables, duals


def _storage_for(layer, name, value):
    spec = next(s for s in layer.PARAMETERS if s.name == name)
    if "psd" in spec.attributes:
        return np.linalg.cholesky(value + 1e-12 * np.eye(len(value)))
    return value


@pytest.mark.parametrize("name", list(CASES))
def test_layer_matches_cvxpy(name):
    layer, params, reference, variables, duals = prepared(name)
    sol = layer(**params)
    assert int(sol.status) == Status.SOLVED
    assert sol.objective.item() == pytest.approx(reference, rel=1e-6, abs=1e-6)
    for var, value in variables.items():
        np.testing.assert_allclose(getattr(sol, var).detach().numpy(), value, atol=1e-6, rtol=1e-6)
    for label, value in duals.items():
        np.testing.assert_allclose(sol.duals[label].detach().numpy(), value, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("name", [n for n in CASES if n not in ("feasibility",)])
def test_directional_derivative_matches_finite_differences(name):
    """A random weighted sum of the variables; where the solution is not unique, the optimal value
    (which is unique, and differentiable where the active set does not change)."""
    layer, params, _, variables, _ = prepared(name)
    layer.options = SolverOptions(eps_abs=1e-12, eps_rel=1e-12)  # finite differences amplify solver error
    g = torch.Generator().manual_seed(1)
    directions = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in params.items()}
    weights = {k: torch.randn(layer(**params)[k].shape, generator=g, dtype=torch.float64) for k in variables}

    def loss(sol) -> torch.Tensor:
        if not variables:
            return sol.objective
        return sum((sol[k] * w).sum() for k, w in weights.items())

    def value(step: float) -> torch.Tensor:
        shifted = {k: params[k] + step * directions[k] for k in params}
        return loss(layer(**{k: _keep_contract(layer, k, v) for k, v in shifted.items()}))

    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    total = loss(layer(**{k: _keep_contract(layer, k, v) for k, v in leaves.items()}))
    total.backward()
    analytic = sum((leaves[k].grad * directions[k]).sum() for k in leaves)
    eps = 1e-5
    with torch.no_grad():
        numeric = (value(eps) - value(-eps)) / (2 * eps)
    assert float(analytic) == pytest.approx(float(numeric), rel=1e-3, abs=1e-5)


def _keep_contract(layer, name, value):
    """Moving along a direction must keep declared attributes: symmetrize psd data, keep signs."""
    spec = next(s for s in layer.PARAMETERS if s.name == name)
    if "psd" in spec.attributes or "symmetric" in spec.attributes:
        return (value + value.transpose(-1, -2)) / 2
    return value


@pytest.mark.parametrize("name", ["portfolio", "mpc", "matrix_variable", "loops_with_data"])
def test_batch_of_one_equals_unbatched(name):
    layer, params, *_ = prepared(name)
    single = layer(**params)
    batched = layer(**{k: v.unsqueeze(0) for k, v in params.items()})
    assert batched.status.shape == (1,) and single.status.shape == ()
    for spec in layer.VARIABLES:
        torch.testing.assert_close(batched[spec.name][0], single[spec.name])
    torch.testing.assert_close(batched.objective[0], single.objective)


@pytest.mark.parametrize("name", ["portfolio", "mpc", "lasso", "transport", "huber_regression"])
def test_float32_agrees(name):
    layer, params, reference, variables, _ = prepared(name)
    sol = layer(**{k: v.float() for k, v in params.items()})
    assert sol.objective.dtype == torch.float32 and int(sol.status) == Status.SOLVED
    assert float(sol.objective) == pytest.approx(reference, rel=1e-3, abs=1e-3)
    for var, value in variables.items():
        np.testing.assert_allclose(sol[var].numpy(), value, atol=5e-3, rtol=5e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", ["portfolio", "mpc"])
def test_cuda_agrees(name):
    layer, params, reference, variables, _ = prepared(name)
    sol = layer(**{k: v.cuda() for k, v in params.items()})
    assert sol.objective.is_cuda
    assert float(sol.objective) == pytest.approx(reference, rel=1e-6, abs=1e-6)
