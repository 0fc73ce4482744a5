"""Curvature rules: what a convex QP allows, and located refusals with a fix for the rest."""

from __future__ import annotations

import pytest

from optlayer.compiler.errors import ConvexityError
from optlayer.dsl.errors import ModelErrors
from optlayer.pipeline import standard_form

HEADER = """\
dimension n = 3
parameter lam
parameter c nonneg
parameter M[n, n]
parameter P[n, n] psd
variable x[n]
variable y[n]
"""
FIRST = HEADER.count("\n") + 1

REFUSED = [
    ("unsigned weight on a norm", "minimize lam * norm1(x)\n", FIRST, 10, "declare `lam nonneg`"),
    (
        "unsigned weight on a square",
        "minimize sum(x) + lam * sum_squares(x)\n",
        FIRST,
        19,
        "the sign of `lam` is unknown",
    ),
    ("product of variables", "minimize sum(x * y)\n", FIRST, 14, "multiplies two expressions that contain variables"),
    ("product via matmul", "minimize x @ y\n", FIRST, 10, "multiplies two expressions"),
    ("convex in equality", "subject to\n    abs(x) == 1\n", FIRST + 1, 5, "each side of `==` must be affine"),
    (
        "convex on the larger side",
        "subject to\n    norm1(x) >= 1\n",
        FIRST + 1,
        5,
        "the larger side of `>=` must be concave",
    ),
    (
        "concave on the smaller side",
        "subject to\n    min(x) <= 1\n",
        FIRST + 1,
        5,
        "the smaller side of `<=` must be convex",
    ),
    (
        "maximize a convex term",
        "maximize sum(x) - sum_squares(x) + norm1(y)\n",
        FIRST,
        36,
        "must be concave, but `norm1(y)` is convex",
    ),
    ("minimize a concave term", "minimize sum(x) + min(y)\n", FIRST, 19, "must be convex, but `min(y)` is concave"),
    ("negated convex in minimize", "minimize -abs(x[0])\n", FIRST, 11, "`abs(x[0])` is convex"),
    ("quad_form with an indefinite matrix", "minimize quad_form(x, M)\n", FIRST, 23, "declare `M psd`"),
    ("quad_form with a difference", "minimize quad_form(x, P - P)\n", FIRST, 23, "not known to be one"),
    ("quadratic constraint", "subject to\n    sum_squares(x) <= 1\n", FIRST + 1, 5, "cannot contain quadratic terms"),
    ("PWL of a quadratic", "minimize max(square(x))\n", FIRST, 14, "`max` of the quadratic expression"),
    ("cube", "minimize sum(x ** 3)\n", FIRST, 14, "only `** 1` and `** 2`"),
    (
        "square of a convex argument that may be negative",
        "minimize sum(square(abs(x) - 1))\n",
        FIRST,
        21,
        "`square` takes an affine argument",
    ),
    ("abs of a convex argument", "minimize sum(abs(abs(x) - 1))\n", FIRST, 18, "needs an affine argument"),
    ("pos of a concave argument", "minimize sum(pos(-abs(x)))\n", FIRST, 18, "needs a convex argument"),
    (
        "matrix of unknown signs times a convex vector",
        "minimize sum(M @ abs(x))\n",
        FIRST,
        14,
        "the sign of `M` is unknown",
    ),
    ("huber threshold of unknown sign", "minimize sum(huber(x, lam))\n", FIRST, 23, "declare `lam nonneg`"),
    ("huber threshold not positive", "minimize sum(huber(x, 0))\n", FIRST, 23, "must be positive"),
    ("loop body", "subject to\n    for t in range(n):\n        abs(x[t]) == 0\n", FIRST + 2, 9, "each side of `==`"),
]


@pytest.mark.parametrize(("body", "line", "column", "phrase"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refusal_is_located_and_says_why(body, line, column, phrase):
    with pytest.raises(ConvexityError) as caught:
        standard_form(HEADER + body, "model.opt")
    error = caught.value
    assert (error.filename, error.line, error.column) == ("model.opt", line, column), str(error)
    assert phrase in str(error), str(error)


ACCEPTED = [
    "minimize c * norm1(x) - lam * sum(x)",
    "minimize -lam * -sum(x) + sum_squares(M @ x)",
    "minimize sum(c * abs(x)) + quad_form(x, M.T @ M) + quad_form(x, 2 * P + diag(c * y0))",
    "maximize -sum_squares(x) + min(x) - max(y) + sum(minimum(x, 0))",
    "minimize sum_squares(pos(x)) + sum(square(neg(x - 1))) + sum(huber(x, c))",
    "minimize max(maximum(x, -x)) - min(-abs(y))",
    "minimize sum(x) / c + x[0] ** 2 + (x[1] - 1) ** 1",
]


@pytest.mark.parametrize("objective", ACCEPTED)
def test_convex_models_are_accepted(objective):
    sf = standard_form(HEADER + "parameter y0[n] nonneg\n" + objective + "\n", "model.opt")
    assert sf.n >= 6


def test_every_convexity_error_is_reported():
    body = "minimize lam * norm1(x)\nsubject to\n    abs(x) == 1\n    for t in range(n):\n        sum_squares(x) <= t\n"
    with pytest.raises(ModelErrors) as caught:
        standard_form(HEADER + body, "model.opt")
    assert [e.line for e in caught.value.errors] == [FIRST, FIRST + 2, FIRST + 4]
