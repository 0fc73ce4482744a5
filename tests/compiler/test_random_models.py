"""Random models, written both in the language and in cvxpy, have the same optimum."""

from __future__ import annotations

import re

import cvxpy as cp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import compile_text, solve

N = 3
RNG = np.random.default_rng(11)
DATA = {
    "p": RNG.normal(size=N),
    "q": RNG.normal(size=N),
    "M": RNG.normal(size=(N, N)),
    "w": RNG.uniform(0.1, 1, size=N),
}
HEADER = f"""\
dimension n = {N}
parameter p[n]
parameter q[n]
parameter M[n, n]
parameter w[n] nonneg
variable x[n]
variable y[n]
"""


class Pair:
    """An expression in both languages."""

    def __init__(self, text: str, build):
        self.text, self.build = text, build


def leaves():
    return st.sampled_from(
        [
            Pair("x", lambda v: v["x"]),
            Pair("y", lambda v: v["y"]),
            Pair("p", lambda v: DATA["p"]),
            Pair("x[::-1]", lambda v: v["x"][::-1]),
            Pair("hstack(y[1:], x[0])", lambda v: cp.hstack([v["y"][1:], v["x"][0:1]])),
        ]
    )


def affine(children):
    def binary(a, b, op):
        if op == "+":
            return Pair(f"({a.text} + {b.text})", lambda v: a.build(v) + b.build(v))
        return Pair(f"({a.text} - {b.text})", lambda v: a.build(v) - b.build(v))

    return st.one_of(
        st.builds(binary, children, children, st.sampled_from(["+", "-"])),
        children.map(lambda a: Pair(f"(M @ {a.text})", lambda v: DATA["M"] @ a.build(v))),
        children.map(lambda a: Pair(f"(q * {a.text})", lambda v: cp.multiply(DATA["q"], a.build(v)))),
        children.map(lambda a: Pair(f"(2.5 * {a.text} / 2)", lambda v: 2.5 * a.build(v) / 2)),
        children.map(lambda a: Pair(f"({a.text}).T", lambda v: a.build(v))),
        children.map(
            lambda a: Pair(
                f"(sum({a.text}) + {a.text}[0] - {a.text})", lambda v: cp.sum(a.build(v)) + a.build(v)[0] - a.build(v)
            )
        ),
    )


AFFINE = st.recursive(leaves(), affine, max_leaves=4)


def convex_terms():
    return st.one_of(
        AFFINE.map(lambda a: Pair(f"norm1({a.text})", lambda v: cp.norm1(a.build(v)))),
        AFFINE.map(lambda a: Pair(f"w @ abs({a.text})", lambda v: DATA["w"] @ cp.abs(a.build(v)))),
        AFFINE.map(lambda a: Pair(f"max({a.text})", lambda v: cp.max(a.build(v)))),
        AFFINE.map(lambda a: Pair(f"sum(pos({a.text}))", lambda v: cp.sum(cp.pos(a.build(v))))),
        AFFINE.map(lambda a: Pair(f"sum_squares({a.text})", lambda v: cp.sum_squares(a.build(v)))),
        AFFINE.map(lambda a: Pair(f"w @ square({a.text})", lambda v: DATA["w"] @ cp.square(a.build(v)))),
        AFFINE.map(lambda a: Pair(f"sum(huber({a.text}, 0.5))", lambda v: cp.sum(cp.huber(a.build(v), 0.5)))),
        AFFINE.map(lambda a: Pair(f"sum({a.text}[t] ** 2 for t in range(n))", lambda v: cp.sum_squares(a.build(v)))),
    )


def value_at_zero(pair: Pair) -> np.ndarray:
    """The expression's value when every variable is zero."""
    variables = {"x": cp.Variable(N), "y": cp.Variable(N)}
    for v in variables.values():
        v.value = np.zeros(N)
    built = pair.build(variables)
    return np.atleast_1d(np.asarray(built.value if isinstance(built, cp.Expression) else built, dtype=float))


def has_variables(pair: Pair) -> bool:
    return re.search(r"\b[xy]\b", pair.text) is not None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(convex_terms(), min_size=1, max_size=3), st.lists(AFFINE, max_size=2), st.lists(convex_terms(), max_size=1)
)
def test_random_model_matches_cvxpy(terms, bounded, convex_constraints):
    variables = {"x": cp.Variable(N), "y": cp.Variable(N)}
    objective = " + ".join(t.text for t in terms) + " + 0.1 * sum_squares(x) + 0.1 * sum_squares(y)"
    cost = (
        sum(t.build(variables) for t in terms)
        + 0.1 * cp.sum_squares(variables["x"])
        + 0.1 * cp.sum_squares(variables["y"])
    )
    lines, constraints = [], []
    piecewise = [c for c in convex_constraints if not any(k in c.text for k in ("square", "huber", "** 2"))]
    for pair in [b for b in bounded if has_variables(b)] + [c for c in piecewise if has_variables(c)]:
        limit = float(value_at_zero(pair).max()) + 1.0  # z = 0 is feasible
        lines.append(f"    {pair.text} <= {limit!r}")
        constraints.append(pair.build(variables) <= limit)
    text = HEADER + f"minimize {objective}\n" + ("subject to\n" + "\n".join(lines) + "\n" if lines else "")
    result = solve(compile_text(text), DATA)
    reference = cp.Problem(cp.Minimize(cost), constraints)
    reference.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert abs(result.objective - reference.value) <= 1e-6 * (1 + abs(reference.value)), text
