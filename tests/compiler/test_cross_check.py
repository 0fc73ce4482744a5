"""Standard forms against independently written cvxpy models (tests/models.py).

The standard form is evaluated at each case's parameter values and solved with Clarabel;
its optimal value, its variables (where the solution is unique) and its duals must match
the reference.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from models import CASES, EXAMPLES
from reference import compile_text, dual, random_parameters, solve, variable


@pytest.mark.parametrize("name", list(CASES))
def test_standard_form_matches_cvxpy(name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    source, params, reference, variables, duals = CASES[name](rng)
    sf = compile_text(source)
    full = random_parameters(sf, rng, **params)
    result = solve(sf, full)
    assert result.objective == pytest.approx(reference, rel=1e-6, abs=1e-6)
    for var, value in variables.items():
        np.testing.assert_allclose(variable(sf, result, var), value, atol=2e-5, rtol=1e-5)
    for label, value in duals.items():
        np.testing.assert_allclose(dual(sf, result, label), value, atol=2e-5, rtol=1e-5)


def test_every_example_and_twelve_more_models_are_cross_checked():
    examples = {p.read_text() for p in EXAMPLES.glob("*.opt")}
    sources = [f(np.random.default_rng(0))[0] for f in CASES.values()]
    assert examples <= set(sources)
    assert len([s for s in sources if s not in examples]) >= 12
