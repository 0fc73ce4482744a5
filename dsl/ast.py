"""The syntax tree of a .opt model. Every node carries the span of source it came from.

The tree says what was written, nothing more: names are not resolved and shapes are not
known until dsl/checker.py turns it into a checked model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .source import Source, Span


@dataclass(frozen=True)
class Node:
    span: Span


# ---- expressions -----------------------------------------------------------------


@dataclass(frozen=True)
class Number(Node):
    text: str

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def is_integer(self) -> bool:
        return self.text.isdigit()


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Sum(Node):
    """``t0 ± t1 ± t2 …``: a whole chain of additions and subtractions, kept flat."""

    terms: tuple[Expr, ...]
    signs: tuple[int, ...]  # +1 or -1 per term; the first is always +1


@dataclass(frozen=True)
class Binary(Node):
    """``left OP right`` for OP in ``* / @ // %``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Unary(Node):
    op: str  # "-" or "+"
    operand: Expr


@dataclass(frozen=True)
class Power(Node):
    base: Expr
    exponent: Expr


@dataclass(frozen=True)
class Attribute(Node):
    """``value.attr``; only ``.T`` means anything."""

    value: Expr
    attr: Name


@dataclass(frozen=True)
class Slice(Node):
    start: Expr | None
    stop: Expr | None
    step: Expr | None


@dataclass(frozen=True)
class Subscript(Node):
    value: Expr
    items: tuple[Union[Expr, Slice], ...]


@dataclass(frozen=True)
class Keyword(Node):
    name: Name
    value: Expr


@dataclass(frozen=True)
class Generator(Node):
    """``element for var in iterable``, the argument of ``sum(...)``."""

    element: Expr
    var: Name
    iterable: Expr


@dataclass(frozen=True)
class Call(Node):
    func: Name
    args: tuple[Expr, ...]
    keywords: tuple[Keyword, ...]
    generator: Generator | None


Expr = Union[Number, Name, Sum, Binary, Unary, Power, Attribute, Subscript, Call]


# ---- statements ------------------------------------------------------------------


@dataclass(frozen=True)
class DimensionDecl(Node):
    name: Name
    default: Expr | None


@dataclass(frozen=True)
class DataDecl(Node):
    """``parameter`` or ``learnable``: data the layer receives or owns."""

    kind: str
    name: Name
    shape: tuple[Expr, ...]
    attributes: tuple[Name, ...]
    init: Expr | None


@dataclass(frozen=True)
class VariableDecl(Node):
    name: Name
    shape: tuple[Expr, ...]
    attributes: tuple[Name, ...]


@dataclass(frozen=True)
class Let(Node):
    name: Name
    value: Expr


@dataclass(frozen=True)
class Objective(Node):
    sense: str  # "minimize" or "maximize"
    expr: Expr


@dataclass(frozen=True)
class Operator(Node):
    symbol: str


@dataclass(frozen=True)
class Constraint(Node):
    """``[label:] e0 op0 e1 op1 e2 …``; chains have more than two operands."""

    label: Name | None
    operands: tuple[Expr, ...]
    operators: tuple[Operator, ...]


@dataclass(frozen=True)
class ForBlock(Node):
    var: Name
    iterable: Expr
    body: tuple[BlockItem, ...]


BlockItem = Union[Constraint, ForBlock, Let]


@dataclass(frozen=True)
class SubjectTo(Node):
    items: tuple[BlockItem, ...]


Statement = Union[DimensionDecl, DataDecl, VariableDecl, Let, Objective, SubjectTo]


@dataclass(frozen=True)
class Module:
    source: Source
    statements: tuple[Statement, ...]
