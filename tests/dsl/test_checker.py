"""The checker: resolved names, inferred shapes, loops, lets and declarations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optlayer.dsl import model as m
from optlayer.dsl.integers import IterationSpace
from optlayer.pipeline import check_source

EXAMPLES = sorted(Path(__file__).parents[2].joinpath("examples").rglob("*.opt"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_checks_clean(path):
    model = check_source(path.read_text(), str(path))
    assert model.variables


def test_there_are_enough_examples():
    assert len(EXAMPLES) >= 8


def objective(
    text: str, header: str = "dimension n = 4\ndimension k = 3\nparameter A[k, n]\nvariable x[n]\nvariable X[k, n]\n"
) -> m.TExpr:
    return check_source(header + f"minimize sum({text})\n").objective.expr.args[0]


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("x", (4,)),
        ("A @ x", (3,)),
        ("x @ x", ()),
        ("A.T @ X", (4, 4)),
        ("X @ x", (3,)),
        ("x @ X.T", (3,)),
        ("X * A", (3, 4)),
        ("X + x", (3, 4)),
        ("X + 1", (3, 4)),
        ("x / 2", (4,)),
        ("X[1]", (4,)),
        ("X[:, 2]", (3,)),
        ("X[0:2, 1:]", (2, 3)),
        ("X[::2, ::-1]", (2, 4)),
        ("x[-1]", ()),
        ("diag(x)", (4, 4)),
        ("diag(A @ A.T)", (3,)),
        ("vstack(x, x, X)", (5, 4)),
        ("hstack(x, 1, x[0:2])", (7,)),
        ("hstack(X, A)", (3, 8)),
        ("sum(X, axis=0)", (4,)),
        ("sum(X, axis=1)", (3,)),
        ("sum(X, axis=-1)", (3,)),
        ("abs(X)", (3, 4)),
        ("maximum(X, x, 0)", (3, 4)),
        ("square(x) ** 1", (4,)),
        ("norm1(X) + max(x) + sum_squares(A)", ()),
        ("quad_form(x, A.T @ A)", ()),
        ("huber(X, 2)", (3, 4)),
        ("sum(X[:, j] for j in range(n))", (3,)),
    ],
)
def test_shapes(text, shape):
    assert objective(text).shape == shape


def test_dimension_overrides_and_defaults_from_other_dimensions():
    model = check_source("dimension n = 3\ndimension m = 2 * n + 1\nvariable x[m]\n", dimensions={"n": 5})
    assert model.dimensions["n"].value == 5 and model.dimensions["m"].value == 11
    assert model.variables["x"].shape == (11,)


def test_declarations_are_recorded():
    model = check_source(
        "dimension n = 3\n"
        "parameter F[n, n] psd = eye\n"
        "parameter g nonneg = 2.5\n"
        "parameter w0[n] = -1\n"
        "learnable W[n] = uniform(-0.5, 0.5)\n"
        "learnable V[n, 2]\n"
        "variable x[n] nonneg\n"
    )
    F, g, w0, W, V = model.data.values()
    assert (F.shape, F.attributes, F.init.kind) == ((3, 3), {"psd"}, "eye")
    assert (g.shape, g.init.args) == ((), (2.5,))
    assert w0.init.args == (-1.0,)
    assert (W.kind, W.init.kind, W.init.args) == ("learnable", "uniform", (-0.5, 0.5))
    assert V.init is None and V.is_learnable
    assert [p.name for p in model.parameters] == ["F", "g", "w0"]
    assert [p.name for p in model.learnables] == ["W", "V"]
    assert model.variables["x"].attributes == {"nonneg"}


def test_let_is_inlined_and_named():
    model = check_source("variable x[3]\nlet r = x - 1\nminimize sum_squares(r)\n")
    arg = model.objective.expr.args[0]
    assert isinstance(arg, m.LetRef) and arg.name == "r" and arg.shape == (3,)
    assert isinstance(arg.value, m.Sum) and arg.has_variables


def test_loops_and_labels():
    model = check_source(
        "dimension T = 5\nvariable x[T + 1]\nsubject to\n"
        "    for t in range(T):\n"
        "        let step = x[t + 1] - x[t]\n"
        "        move: -1 <= step <= 1\n"
        "    start: x[0] == 0\n"
    )
    loop, start = model.constraints
    assert isinstance(loop, m.Loop) and loop.index == "t" and loop.step == 1
    (move,) = loop.body
    assert (move.label, move.operator, len(move.operands)) == ("move", "<=", 3)
    assert start.label == "start" and start.operator == "=="
    take = move.operands[1].value.terms[0].items[0]
    space = IterationSpace.root().extend("t", loop.start, loop.stop, loop.step)
    assert np.array_equal(space.evaluate(take.index), np.arange(1, 6))


def test_triangular_loops_and_growing_generator_sums():
    model = check_source(
        "dimension n = 4\nvariable x[n]\nsubject to\n"
        "    for t in range(1, n):\n"
        "        sum(x[j] for j in range(t)) <= t\n"
        "        for j in range(t, n):\n"
        "            x[j] >= x[t - 1]\n"
    )
    (loop,) = model.constraints
    growing, inner = loop.body
    assert isinstance(growing.operands[0], m.GeneratorSum) and growing.operands[0].shape == ()
    outer = IterationSpace.root().extend("t", loop.start, loop.stop, loop.step)
    nested = outer.extend("j", inner.start, inner.stop, inner.step)
    assert nested.size == 3 + 2 + 1
    assert list(nested.values["t"]) == [1, 1, 1, 2, 2, 3]
    assert list(nested.values["j"]) == [1, 2, 3, 2, 3, 3]


def test_empty_loop_is_checked_but_not_indexed():
    model = check_source(
        "dimension T = 1\nvariable x[T]\nsubject to\n    for t in range(1, T):\n        x[t] >= x[t - 1]\n"
    )
    (loop,) = model.constraints
    assert IterationSpace.root().extend("t", loop.start, loop.stop, loop.step).probe


def test_negative_constant_indices_count_from_the_end():
    expr = objective("x[-1] + x[-4]")
    assert [t.items[0].index.constant for t in expr.terms] == [3, 0]


def test_loop_index_as_a_value():
    model = check_source(
        "dimension n = 3\nvariable x[n]\nsubject to\n    for t in range(n):\n        x[t] <= 2 * t + n // 2\n"
    )
    (loop,) = model.constraints
    assert not loop.body[0].operands[1].has_variables


def test_reversed_and_stepped_loops():
    model = check_source(
        "dimension n = 6\nvariable x[n]\nsubject to\n    for t in range(n - 1, 0, -2):\n        x[t] >= 0\n"
    )
    (loop,) = model.constraints
    space = IterationSpace.root().extend("t", loop.start, loop.stop, loop.step)
    assert list(space.values["t"]) == [5, 3, 1]
