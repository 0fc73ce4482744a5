"""Rewritings that mean the same give the same optimum."""

from __future__ import annotations

import numpy as np
import pytest
from reference import compile_text, random_parameters, solve, variable

HEADER = """\
dimension n = 5
parameter a[n]
parameter lo[n] nonpos
parameter M[n, n]
variable x[n]
"""

PAIRS = [
    (
        "minimize sum_squares(x - a)\nsubject to\n    lo <= x\n",
        "minimize sum_squares(x - a)\nsubject to\n    x >= lo\n",
    ),
    ("let r = M @ x - a\nminimize sum_squares(r) + norm1(r)\n", "minimize sum_squares(M @ x - a) + norm1(M @ x - a)\n"),
    (
        "minimize sum_squares(x - a)\nsubject to\n    lo <= x <= 1\n",
        "minimize sum_squares(x - a)\nsubject to\n    x >= lo\n    x <= 1\n",
    ),
    ("minimize sum(square(x - a))\n", "minimize sum_squares(x - a)\n"),
    ("minimize sum((x - a) ** 2)\n", "minimize sum_squares(x - a)\n"),
    ("minimize sum(x[t] ** 2 for t in range(n)) - a @ x\n", "minimize sum_squares(x) - sum(a * x)\n"),
    (
        "minimize sum_squares(x - a)\nsubject to\n    for t in range(n - 1):\n        x[t] <= x[t + 1]\n",
        "minimize sum_squares(x - a)\nsubject to\n    x[:-1] <= x[1:]\n",
    ),
    ("minimize sum_squares(x - a) + max(abs(x))\n", "minimize sum_squares(x - a) + norm_inf(x)\n"),
    ("minimize sum_squares(x - a) + sum(maximum(x, -x))\n", "minimize sum_squares(x - a) + norm1(x)\n"),
    ("maximize -sum_squares(x - a) - norm1(x)\n", "minimize sum_squares(x - a) + norm1(x)\n"),
    ("minimize sum_squares(x - a) + sum(pos(x) + neg(x))\n", "minimize sum_squares(x - a) + sum(abs(x))\n"),
    ("minimize quad_form(x - a, M.T @ M)\n", "minimize sum_squares(M @ (x - a))\n"),
    (
        "minimize sum_squares(x - a)\nsubject to\n    sum(x) == 1\n",
        "minimize sum_squares(x - a)\nsubject to\n    1 == sum(x[j] for j in range(n))\n",
    ),
]


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_same_meaning_same_optimum(first, second):
    one, two = compile_text(HEADER + first), compile_text(HEADER + second)
    params = random_parameters(one, np.random.default_rng(7))
    a, b = solve(one, params), solve(two, params)
    sign = -1 if "maximize" in first and "minimize" in second else 1
    assert sign * a.objective == pytest.approx(b.objective, rel=1e-7, abs=1e-8)
    np.testing.assert_allclose(variable(one, a, "x"), variable(two, b, "x"), atol=1e-6)
