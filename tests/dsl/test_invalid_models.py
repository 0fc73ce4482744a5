"""Invalid models: each is refused with the right error class, place and message."""

from __future__ import annotations

import textwrap

import pytest

from optlayer.dsl.errors import (
    DeclarationError,
    DimensionError,
    ExpressionError,
    ModelErrors,
    ModelTooLargeError,
    OptIndexError,
    OptNameError,
    OptShapeError,
    OptSyntaxError,
)
from optlayer.dsl.parser import MAX_NESTING
from optlayer.errors import OptError
from optlayer.pipeline import check_source

HEADER = """\
dimension n = 5
parameter p[n]
parameter c nonneg = 1
parameter M[n, n]
variable x[n]
"""
FIRST = HEADER.count("\n") + 1  # the line number of the first line after HEADER

# (id, source, error class, line, column, phrase of the message)
CASES = [
    # ---- syntax ----
    ("missing bracket", "dimension n = 5\nparameter p[n\nvariable x[n]\n", OptSyntaxError, 2, 12, "never closed"),
    ("stray paren", "dimension n = 5\nparameter p[n] )\n", OptSyntaxError, 2, 16, "unexpected `)`"),
    ("constraint at top level", HEADER + "x >= 0\n", OptSyntaxError, FIRST, 1, "a statement must start with"),
    ("line ends early", HEADER + "subject to\n    x >= p +\n", OptSyntaxError, FIRST + 1, 12, "ends too early"),
    ("two expressions", HEADER + "subject to\n    x >= 0 0\n", OptSyntaxError, FIRST + 1, 12, "unexpected number"),
    ("bad character", HEADER + "minimize sum(x) $ 2\n", OptSyntaxError, FIRST, 17, "unexpected character `$`"),
    (
        "unexpected indent",
        HEADER + "subject to\n    x >= 0\n      x <= 1\n",
        OptSyntaxError,
        FIRST + 2,
        7,
        "indentation",
    ),
    (
        "inconsistent dedent",
        HEADER + "subject to\n    for t in range(n):\n        x[t] >= 0\n      x <= 1\n",
        OptSyntaxError,
        FIRST + 3,
        1,
        "matches no enclosing block",
    ),
    (
        "missing colon",
        HEADER + "subject to\n    for t in range(n)\n        x[t] >= 0\n",
        OptSyntaxError,
        FIRST + 1,
        21,
        "expected `:`",
    ),
    (
        "empty subject to",
        HEADER + "subject to\nminimize sum(x)\n",
        OptSyntaxError,
        FIRST,
        10,
        "indented block must follow",
    ),
    (
        "keyword after keyword",
        HEADER + "subject to\n    sum(x, axis=0, 1) == 1\n",
        OptSyntaxError,
        FIRST + 1,
        20,
        "positional argument follows a keyword",
    ),
    # ---- names ----
    ("unknown name", HEADER + "minimize sum(y)\n", OptNameError, FIRST, 14, "unknown name `y`"),
    ("did you mean", HEADER + "minimize sum(xx)\n", OptNameError, FIRST, 14, "did you mean `x`"),
    ("duplicate", HEADER + "variable x\n", OptNameError, FIRST, 10, "already defined"),
    (
        "shadowing loop index",
        HEADER + "subject to\n    for x in range(n):\n        p[x] <= 1\n",
        OptNameError,
        FIRST + 1,
        9,
        "already defined",
    ),
    (
        "use before declaration",
        "dimension n = 3\nminimize sum(x)\nvariable x[n]\n",
        OptNameError,
        2,
        14,
        "used before its declaration",
    ),
    ("python keyword", "variable lambda\n", OptNameError, 1, 10, "Python keyword"),
    ("reserved variable", "variable status\n", OptNameError, 1, 10, "cannot be named `status`"),
    ("function as name", "variable sum\n", OptNameError, 1, 10, "name of a function"),
    ("function without call", HEADER + "minimize norm1\n", OptNameError, FIRST, 10, "is a function"),
    ("unknown function", HEADER + "minimize sum_square(x)\n", OptNameError, FIRST, 10, "did you mean `sum_squares`"),
    ("non ascii name", "variable σ\n", OptNameError, 1, 10, "not a valid name"),
    (
        "duplicate label",
        HEADER + "subject to\n    a: x >= 0\n    a: x <= 1\n",
        OptNameError,
        FIRST + 2,
        5,
        "used twice",
    ),
    # ---- dimensions and declarations ----
    ("missing dimension", "dimension n\nvariable x[n]\n", DimensionError, 1, 1, "has no value"),
    ("zero dimension", "dimension n = 0\n", DimensionError, 1, 15, "between 1 and"),
    ("three sizes", "dimension n = 2\nparameter T[n, n, n]\n", DeclarationError, 2, 19, "at most two sizes"),
    ("non-integer size", "parameter p[2.5]\n", ExpressionError, 1, 13, "must be an integer"),
    ("size from a parameter", "parameter k\nparameter p[k]\n", ExpressionError, 2, 13, "known at compile time"),
    ("unknown attribute", "parameter c nonnegative\n", DeclarationError, 1, 13, "did you mean `nonneg`"),
    ("conflicting attributes", "parameter c nonneg nonpos\n", DeclarationError, 1, 20, "allow only zero"),
    ("psd not square", "parameter P[3, 2] psd\n", DeclarationError, 1, 19, "square matrix"),
    ("psd variable", "variable X[3, 3] psd\n", DeclarationError, 1, 18, "cannot be declared `psd`"),
    ("default breaks nonneg", "parameter c nonneg = -1\n", DeclarationError, 1, 22, "can be negative"),
    ("eye on a vector", "parameter v[3] = eye\n", DeclarationError, 1, 18, "square matrix"),
    ("random default for parameter", "parameter v[3] = normal(1)\n", DeclarationError, 1, 18, "must be a number"),
    ("bad uniform", "learnable v[3] = uniform(1, 0)\n", DeclarationError, 1, 18, "LO < HI"),
    (
        "normal for nonneg learnable",
        "learnable v[3] nonneg = normal(0.1)\n",
        DeclarationError,
        1,
        25,
        "can be negative",
    ),
    # ---- shapes ----
    ("add shapes", HEADER + "minimize sum(x + p[0:2])\n", OptShapeError, FIRST, 18, "cannot add shape (2,)"),
    ("matmul sizes", "variable x[3]\nparameter M[2, 2]\nminimize sum(M @ x)\n", OptShapeError, 3, 14, "inner sizes"),
    ("matmul scalar", HEADER + "minimize sum(c @ x)\n", OptShapeError, FIRST, 14, "not scalars"),
    ("objective not scalar", HEADER + "minimize x\n", OptShapeError, FIRST, 10, "must be a scalar"),
    (
        "constraint shapes",
        "variable x[3]\nparameter p[4]\nsubject to\n    x <= p\n",
        OptShapeError,
        4,
        7,
        "different shapes",
    ),
    ("quad_form shape", HEADER + "minimize quad_form(x, p)\n", OptShapeError, FIRST, 23, "P must have shape (5, 5)"),
    (
        "vstack columns",
        "variable x[3]\nvariable y[4]\nsubject to\n    vstack(x, y) <= 1\n",
        OptShapeError,
        4,
        15,
        "3 columns",
    ),
    (
        "sum axis",
        HEADER + "subject to\n    sum(x, axis=1) == 0\n",
        OptShapeError,
        FIRST + 1,
        5,
        "axis 1 does not exist",
    ),
    (
        "slice length in loop",
        HEADER + "subject to\n    for t in range(n):\n        sum(x[t:n]) >= 0\n",
        OptShapeError,
        FIRST + 2,
        15,
        "changes from iteration",
    ),
    # ---- indices ----
    ("index out of range", HEADER + "subject to\n    x[5] >= 0\n", OptIndexError, FIRST + 1, 7, "out of range"),
    (
        "loop index out of range",
        HEADER + "subject to\n    for t in range(n):\n        x[t + 1] >= x[t]\n",
        OptIndexError,
        FIRST + 2,
        11,
        "is 5 when t = 4",
    ),
    (
        "negative loop index",
        HEADER + "subject to\n    for t in range(n):\n        x[t - 1] >= 0\n",
        OptIndexError,
        FIRST + 2,
        11,
        "is -1 when t = 0",
    ),
    ("slice past end", HEADER + "subject to\n    x[2:9] >= 0\n", OptIndexError, FIRST + 1, 7, "reaches outside"),
    ("empty slice", HEADER + "subject to\n    x[3:3] >= 0\n", OptIndexError, FIRST + 1, 7, "selects nothing"),
    ("too many indices", HEADER + "subject to\n    x[0, 1] >= 0\n", OptIndexError, FIRST + 1, 10, "too many indices"),
    (
        "index a scalar",
        HEADER + "subject to\n    x[0][0] >= 0\n",
        OptIndexError,
        FIRST + 1,
        5,
        "scalar and cannot be indexed",
    ),
    ("parameter as index", HEADER + "subject to\n    x[c] >= 0\n", ExpressionError, FIRST + 1, 7, "`c` is a parameter"),
    # ---- expressions and constraints ----
    ("strict inequality", HEADER + "subject to\n    x < 1\n", ExpressionError, FIRST + 1, 7, "strict inequality"),
    ("assignment", HEADER + "subject to\n    x = 1\n", ExpressionError, FIRST + 1, 7, "`=` is not a comparison"),
    ("not equal", HEADER + "subject to\n    x != 1\n", ExpressionError, FIRST + 1, 7, "`!=`"),
    (
        "mixed chain",
        HEADER + "subject to\n    0 <= x >= 1\n",
        ExpressionError,
        FIRST + 1,
        12,
        "one operator throughout",
    ),
    ("no variable", HEADER + "subject to\n    p >= 0\n", ExpressionError, FIRST + 1, 5, "contains no variable"),
    ("divide by variable", HEADER + "minimize sum(p / x)\n", ExpressionError, FIRST, 18, "division by an expression"),
    (
        "variable in constant argument",
        HEADER + "minimize huber(x[0], x[1])\n",
        ExpressionError,
        FIRST,
        22,
        "must not contain variables",
    ),
    ("arity", HEADER + "minimize quad_form(x)\n", ExpressionError, FIRST, 10, "takes 2 arguments"),
    ("unknown keyword", HEADER + "minimize sum(x, axes=0)\n", ExpressionError, FIRST, 17, "did you mean `axis`"),
    (
        "generator in norm",
        HEADER + "minimize norm1(x[t] for t in range(n))\n",
        ExpressionError,
        FIRST,
        16,
        "does not take a generator",
    ),
    (
        "loop over a list",
        HEADER + "subject to\n    for t in n:\n        x[t] >= 0\n",
        ExpressionError,
        FIRST + 1,
        14,
        "run over `range",
    ),
    ("range in expression", HEADER + "minimize sum(range(n))\n", ExpressionError, FIRST, 14, "can only follow `in`"),
    (
        "two objectives",
        HEADER + "minimize sum(x)\nmaximize sum(x)\n",
        ExpressionError,
        FIRST + 1,
        1,
        "at most one objective",
    ),
    ("attribute", HEADER + "minimize sum(x.shape)\n", ExpressionError, FIRST, 16, "unknown attribute"),
    (
        "exponent not a number",
        HEADER + "minimize sum(x ** c)\n",
        ExpressionError,
        FIRST,
        19,
        "exponent must be a number",
    ),
    (
        "fractional floor division",
        HEADER + "subject to\n    x[n / 2] >= 0\n",
        ExpressionError,
        FIRST + 1,
        7,
        "use `//`",
    ),
    # ---- limits ----
    (
        "huge loop",
        "dimension n = 3000\nvariable x[n]\nsubject to\n    for i in range(n):\n        for j in range(n):\n            x[i] >= x[j]\n",
        ModelTooLargeError,
        5,
        18,
        "iterations in all",
    ),
    (
        "deep nesting",
        "variable x\nminimize " + "abs(" * 80 + "x" + ")" * 80 + "\n",
        ModelTooLargeError,
        2,
        10 + 4 * MAX_NESTING,
        "nested more than",
    ),
]


@pytest.mark.parametrize(
    ("source", "error_class", "line", "column", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_model_is_refused_at_its_place(source, error_class, line, column, phrase):
    with pytest.raises(OptError) as caught:
        check_source(source, "model.opt")
    error = caught.value
    assert not isinstance(error, ModelErrors), f"expected one error, got:\n{error}"
    assert isinstance(error, error_class), f"{type(error).__name__}: {error}"
    assert (error.filename, error.line, error.column) == ("model.opt", line, column), str(error)
    assert phrase in str(error)


def test_enough_invalid_cases():
    assert len(CASES) >= 30


def test_message_shows_line_caret_and_hint():
    source = "dimension n = 3\nparameter mu[n]\nvariable w[n]\nminimize muu @ w\n"
    with pytest.raises(OptError) as caught:
        check_source(source, "portfolio.opt")
    assert str(caught.value) == textwrap.dedent(
        """\
        portfolio.opt:4:10: error: unknown name `muu`
            4 | minimize muu @ w
              |          ^^^
        hint: did you mean `mu`?"""
    )


def test_independent_errors_are_all_reported():
    source = (
        HEADER + "parameter q[n] nonegative\nminimize sum(y)\nsubject to\n    x[7] >= 0\n    x <= 1 1\n    x >= 0\n"
    )
    with pytest.raises(OptSyntaxError) as caught:  # syntax errors come first: checking needs a whole tree
        check_source(source, "model.opt")
    assert caught.value.line == FIRST + 4
    source = (
        HEADER + "parameter q[n] nonegative\nminimize sum(y)\nsubject to\n    x[7] >= 0\n    x >= 0\n    x <= p[0:2]\n"
    )
    with pytest.raises(ModelErrors) as caught:
        check_source(source, "model.opt")
    found = [(type(e), e.line) for e in caught.value.errors]
    assert found == [
        (DeclarationError, FIRST),
        (OptNameError, FIRST + 1),
        (OptIndexError, FIRST + 3),
        (OptShapeError, FIRST + 5),
    ]
    assert str(caught.value).endswith("4 errors in model.opt")


def test_several_syntax_errors_in_one_run():
    source = "dimension n = 3\nparameter p[n\nvariable x[n] )\nsubject to\n    x >= 0 0\n    x <=\n"
    with pytest.raises(ModelErrors) as caught:
        check_source(source, "model.opt")
    assert [e.line for e in caught.value.errors] == [2, 3, 5, 6]


def test_failed_declaration_does_not_cascade():
    source = "parameter P[3, 2] psd\nvariable x[3]\nminimize sum(P @ x)\n"
    with pytest.raises(DeclarationError):
        check_source(source, "model.opt")


def test_unknown_dimension_override():
    with pytest.raises(OptError, match="no dimension `nn`") as caught:
        check_source("dimension n = 3\nvariable x[n]\n", "model.opt", {"nn": 4})
    assert caught.value.hint == "did you mean `n`?"
