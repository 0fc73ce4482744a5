"""Property-based tests of the front end: mutated models, and printed-then-parsed expressions."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optlayer.dsl import ast
from optlayer.dsl.parser import parse
from optlayer.errors import OptError
from optlayer.pipeline import check_source

EXAMPLES = [p.read_text() for p in sorted(Path(__file__).parents[2].joinpath("examples").rglob("*.opt"))]
_TOKEN = re.compile(r"\n[ \t]*|[A-Za-z_]\w*|\d+\.?\d*(?:[eE][+-]?\d+)?|\*\*|//|<=|>=|==|!=|\S| +")
_NOISE = st.text(alphabet="()[]{}:,.=<>!@*/+-%#\\\t\n 0123456789_xyzTé$;'\"", min_size=1, max_size=4)
_SETTINGS = settings(max_examples=300, deadline=10_000, suppress_health_check=[HealthCheck.too_slow])


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@st.composite
def mutated_models(draw) -> str:
    parts = tokens(EXAMPLES[draw(st.integers(0, len(EXAMPLES) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        i = draw(st.integers(0, len(parts) - 1))
        if kind == "delete":
            del parts[i]
        elif kind == "duplicate":
            parts.insert(i, parts[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
        else:
            parts.insert(i, draw(_NOISE))
    return "".join(parts)


@_SETTINGS
@given(mutated_models())
def test_mutated_models_only_raise_opt_errors(text):
    try:
        check_source(text, "mutated.opt")
    except OptError as error:
        rendered = str(error)
        assert "mutated.opt" in rendered
        assert "lark" not in rendered.lower() and "Traceback" not in rendered


_NAMES = st.sampled_from(["x", "y", "A", "t", "mu"])
_NUMBERS = st.sampled_from(["0", "1", "2.5", "1e-3", ".5"])


def _expressions():
    leaves = st.one_of(_NAMES, _NUMBERS)

    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(["+", "-", "*", "/", "@", "**"]), children, children).map(
                lambda t: f"({t[1]} {t[0]} {t[2]})"
            ),
            children.map(lambda c: f"(-{c})"),
            st.tuples(_NAMES, children).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(st.sampled_from(["abs", "sum", "norm1"]), children).map(lambda t: f"{t[0]}({t[1]})"),
            children.map(lambda c: f"({c}).T"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def _canonical(node) -> str:
    """A fully parenthesized rendering; equal for two trees exactly when they have the same structure."""
    if isinstance(node, ast.Number):
        return node.text
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Sum):
        first, *rest = node.terms
        text = _canonical(first)
        for term, sign in zip(rest, node.signs[1:]):
            text = f"({text} {'+' if sign > 0 else '-'} {_canonical(term)})"
        return text
    if isinstance(node, ast.Binary):
        return f"({_canonical(node.left)} {node.op} {_canonical(node.right)})"
    if isinstance(node, ast.Power):
        return f"({_canonical(node.base)} ** {_canonical(node.exponent)})"
    if isinstance(node, ast.Unary):
        return f"(-{_canonical(node.operand)})"
    if isinstance(node, ast.Subscript):
        return f"{_canonical(node.value)}[{_canonical(node.items[0])}]"
    if isinstance(node, ast.Call):
        return f"{node.func.id}({_canonical(node.args[0])})"
    if isinstance(node, ast.Attribute):
        return f"({_canonical(node.value)}).T"
    raise AssertionError(node)


@settings(max_examples=200, deadline=None)
@given(_expressions())
def test_printed_expressions_parse_back_to_the_same_tree(text):
    parsed = parse(f"minimize {text}\n").statements[0].expr
    again = parse(f"minimize {_canonical(parsed)}\n").statements[0].expr
    assert _canonical(again) == _canonical(parsed)
    alone = parse(f"minimize {parsed.span.text()}\n").statements[0].expr
    assert _canonical(alone) == _canonical(parsed)
