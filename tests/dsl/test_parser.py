"""The parser: every form of the language, Python precedence, and source spans."""

from __future__ import annotations

import pytest

from optlayer.dsl import ast
from optlayer.dsl.parser import parse


def expression(text: str) -> ast.Expr:
    return parse(f"minimize {text}\n").statements[0].expr


def constraint(text: str) -> ast.Constraint:
    return parse(f"subject to\n    {text}\n").statements[0].items[0]


def render(node) -> str:
    """A fully parenthesized rendering of an expression, to test precedence."""
    if isinstance(node, ast.Number):
        return node.text
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Sum):
        parts = [render(node.terms[0])] + [
            f"{'+' if s > 0 else '-'} {render(t)}" for t, s in zip(node.terms[1:], node.signs[1:])
        ]
        return "(" + " ".join(parts) + ")"
    if isinstance(node, ast.Binary):
        return f"({render(node.left)} {node.op} {render(node.right)})"
    if isinstance(node, ast.Unary):
        return f"({node.op}{render(node.operand)})"
    if isinstance(node, ast.Power):
        return f"({render(node.base)} ** {render(node.exponent)})"
    if isinstance(node, ast.Attribute):
        return f"{render(node.value)}.{node.attr.id}"
    if isinstance(node, ast.Subscript):
        return f"{render(node.value)}[{', '.join(render(i) for i in node.items)}]"
    if isinstance(node, ast.Slice):
        parts = [render(p) if p is not None else "" for p in (node.start, node.stop)]
        return ":".join(parts) + (f":{render(node.step)}" if node.step is not None else "")
    if isinstance(node, ast.Call):
        args = [render(a) for a in node.args] + [f"{k.name.id}={render(k.value)}" for k in node.keywords]
        if node.generator:
            g = node.generator
            args.append(f"{render(g.element)} for {g.var.id} in {render(g.iterable)}")
        return f"{node.func.id}({', '.join(args)})"
    raise AssertionError(node)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * c", "(a + (b * c))"),
        ("a - b - c + d", "(a - b - c + d)"),
        ("a - (b - c)", "(a - (b - c))"),
        ("-a ** 2", "(-(a ** 2))"),
        ("a ** -1", "(a ** (-1))"),
        ("A @ x + b", "((A @ x) + b)"),
        ("a * b / c", "((a * b) / c)"),
        ("2 * -x", "(2 * (-x))"),
        ("x.T @ A.T", "(x.T @ A.T)"),
        ("X[:, t + 1]", "X[:, (t + 1)]"),
        ("x[::2]", "x[::2]"),
        ("x[1:-1]", "x[1:(-1)]"),
        ("x[a:b:c]", "x[a:b:c]"),
        ("sum(x, axis=0)", "sum(x, axis=0)"),
        ("sum(x[t] for t in range(1, n))", "sum(x[t] for t in range(1, n))"),
        ("maximum(a, b, c,)", "maximum(a, b, c)"),
        ("(a + b) @ (c - d)", "((a + b) @ (c - d))"),
        ("t // 2 + t % 3", "((t // 2) + (t % 3))"),
        ("1e-3 * x + .5 + 2.", "((1e-3 * x) + .5 + 2.)"),
    ],
)
def test_precedence_and_forms(text, expected):
    assert render(expression(text)) == expected


def test_declarations():
    module = parse(
        "dimension n = 3\n"
        "dimension m\n"
        "parameter F[n, m] nonneg psd = eye\n"
        "learnable W[m] = normal(0.1)\n"
        "variable x[n + 1] nonneg\n"
        "variable s\n"
        "let r = F @ x\n"
    )
    dim_n, dim_m, param, learn, var, scalar, let = module.statements
    assert (dim_n.name.id, render(dim_n.default)) == ("n", "3")
    assert dim_m.default is None
    assert (param.kind, param.name.id, [render(s) for s in param.shape]) == ("parameter", "F", ["n", "m"])
    assert [a.id for a in param.attributes] == ["nonneg", "psd"]
    assert render(param.init) == "eye"
    assert (learn.kind, render(learn.init)) == ("learnable", "normal(0.1)")
    assert ([render(s) for s in var.shape], [a.id for a in var.attributes]) == (["(n + 1)"], ["nonneg"])
    assert scalar.shape == () and scalar.attributes == ()
    assert (let.name.id, render(let.value)) == ("r", "(F @ x)")


def test_constraints_labels_chains_and_loops():
    module = parse(
        "subject to\n"
        "    budget: sum(w) == 1\n"
        "    0 <= w <= 1\n"
        "    for t in range(T):\n"
        "        let xt = x[:, t]\n"
        "        dyn: x[:, t + 1] == A @ xt\n"
        "        for j in range(t):\n"
        "            x[j, t] >= 0\n"
    )
    (block,) = module.statements
    budget, chain, loop = block.items
    assert budget.label.id == "budget" and [o.symbol for o in budget.operators] == ["=="]
    assert chain.label is None and [o.symbol for o in chain.operators] == ["<=", "<="] and len(chain.operands) == 3
    assert isinstance(loop, ast.ForBlock) and loop.var.id == "t" and render(loop.iterable) == "range(T)"
    let, dyn, inner = loop.body
    assert isinstance(let, ast.Let) and dyn.label.id == "dyn"
    assert isinstance(inner, ast.ForBlock) and inner.var.id == "j"


def test_comments_blank_lines_and_continuations():
    module = parse(
        "# a comment\n\n"
        "dimension n = 3   # trailing comment\n"
        "minimize sum(x[0:2]) + \\\n"
        "    norm1(x)\n"
        "subject to\n"
        "\n"
        "    # comment inside a block\n"
        "    x <= (1 +\n"
        "  2)\n"
    )
    assert [type(s).__name__ for s in module.statements] == ["DimensionDecl", "Objective", "SubjectTo"]


def test_spans_point_at_the_source():
    module = parse("dimension n = 3\nminimize sum(x[0:2]) + norm1(y)\n", "m.opt")
    objective = module.statements[1]
    term = objective.expr.terms[1]
    assert (term.span.filename, term.span.line, term.span.column, term.span.end_column) == ("m.opt", 2, 24, 32)
    assert term.span.text() == "norm1(y)"
    assert objective.expr.span.text() == "sum(x[0:2]) + norm1(y)"
    assert module.statements[0].span.text() == "dimension n = 3"


def test_long_sums_do_not_recurse():
    text = "minimize " + " + ".join(f"x[{i}]" for i in range(3000)) + "\n"
    objective = parse(text).statements[0]
    assert isinstance(objective.expr, ast.Sum) and len(objective.expr.terms) == 3000


def test_file_without_final_newline_and_crlf():
    assert len(parse("dimension n = 3\r\nvariable x[n]").statements) == 2


def test_tabs_indent_blocks():
    (block,) = parse("subject to\n\tx >= 0\n\tx <= 1\n").statements
    assert len(block.items) == 2
