"""The checked model: declarations with concrete shapes and typed expressions.

This is what the compiler consumes. Every name is resolved to its declaration, every
expression knows its shape (the same in every iteration of the loops around it), sizes
and indices are integer expressions whose values were checked in every iteration, and
``let``s are inlined (a LetRef keeps the name for display).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Union

from .integers import IntExpr
from .signatures import Shape
from .source import Source, Span

# ---- declarations ------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    name: str
    value: int
    span: Span


@dataclass(frozen=True)
class Init:
    """A declared default (parameter) or initialization (learnable).

    ``kind`` is ``constant`` (args: the value), ``zeros``, ``ones``, ``eye``, ``normal``
    (args: std) or ``uniform`` (args: low, high).
    """

    kind: str
    args: tuple[float, ...]
    span: Span


@dataclass(frozen=True)
class Data:
    """A ``parameter`` (given at call time) or a ``learnable`` (owned by the layer)."""

    kind: str
    name: str
    shape: Shape
    attributes: frozenset[str]
    init: Init | None
    span: Span

    @property
    def is_learnable(self) -> bool:
        return self.kind == "learnable"


@dataclass(frozen=True)
class Variable:
    name: str
    shape: Shape
    attributes: frozenset[str]
    span: Span


# ---- typed expressions -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TExpr:
    """A typed expression. ``shape`` is the same in every iteration of the enclosing loops."""

    span: Span
    shape: Shape

    def children(self) -> tuple[TExpr, ...]:
        return ()

    @functools.cached_property
    def has_variables(self) -> bool:
        return any(child.has_variables for child in self.children())


@dataclass(frozen=True, eq=False)
class Constant(TExpr):
    value: float


@dataclass(frozen=True, eq=False)
class IndexValue(TExpr):
    """A loop index (or an integer expression of them) used as a number."""

    index: IntExpr


@dataclass(frozen=True, eq=False)
class DataRef(TExpr):
    data: Data


@dataclass(frozen=True, eq=False)
class VariableRef(TExpr):
    variable: Variable

    @functools.cached_property
    def has_variables(self) -> bool:
        return True


@dataclass(frozen=True, eq=False)
class LetRef(TExpr):
    name: str
    value: TExpr

    def children(self) -> tuple[TExpr, ...]:
        return (self.value,)


@dataclass(frozen=True, eq=False)
class Negate(TExpr):
    operand: TExpr

    def children(self) -> tuple[TExpr, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Sum(TExpr):
    """``terms[0] ± terms[1] ± …`` with NumPy broadcasting; ``signs`` are +1 or -1."""

    terms: tuple[TExpr, ...]
    signs: tuple[int, ...]

    def children(self) -> tuple[TExpr, ...]:
        return self.terms


@dataclass(frozen=True, eq=False)
class Binary(TExpr):
    """``left op right`` for ``*`` (elementwise), ``/`` (by a constant) and ``@``."""

    op: str
    left: TExpr
    right: TExpr

    def children(self) -> tuple[TExpr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Power(TExpr):
    base: TExpr
    exponent: float

    def children(self) -> tuple[TExpr, ...]:
        return (self.base,)


@dataclass(frozen=True, eq=False)
class Transpose(TExpr):
    operand: TExpr

    def children(self) -> tuple[TExpr, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Take:
    """One position along an axis (the axis disappears). Never negative."""

    index: IntExpr


@dataclass(frozen=True)
class Range:
    """``length`` positions along an axis: start, start + step, … (the axis stays)."""

    start: IntExpr
    step: int
    length: int


IndexItem = Union[Take, Range]


@dataclass(frozen=True, eq=False)
class Index(TExpr):
    """``operand[items]``; one item per axis of the operand (missing ones filled with full ranges)."""

    operand: TExpr
    items: tuple[IndexItem, ...]

    def children(self) -> tuple[TExpr, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Call(TExpr):
    """A call of a function of the vocabulary; ``options`` holds integer keywords (``axis``)."""

    function: str
    args: tuple[TExpr, ...]
    options: tuple[tuple[str, int], ...]

    def children(self) -> tuple[TExpr, ...]:
        return self.args

    def option(self, name: str) -> int | None:
        return dict(self.options).get(name)


@dataclass(frozen=True, eq=False)
class GeneratorSum(TExpr):
    """``sum(body for index in range(start, stop, step))``."""

    index: str
    start: IntExpr
    stop: IntExpr
    step: int
    body: TExpr

    def children(self) -> tuple[TExpr, ...]:
        return (self.body,)


# ---- objective and constraints ----------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    sense: str
    expr: TExpr
    span: Span


@dataclass(frozen=True)
class Constraint:
    """``operands[0] op operands[1] op …``; ``operator`` is the same all along a chain."""

    label: str | None
    operands: tuple[TExpr, ...]
    operator: str
    span: Span


@dataclass(frozen=True)
class Loop:
    """``for index in range(start, stop, step):`` around constraints."""

    index: str
    start: IntExpr
    stop: IntExpr
    step: int
    body: tuple[ConstraintItem, ...]
    span: Span


ConstraintItem = Union[Constraint, Loop]


@dataclass(frozen=True)
class CheckedModel:
    source: Source
    dimensions: dict[str, Dimension]
    data: dict[str, Data]
    variables: dict[str, Variable]
    objective: Objective | None
    constraints: tuple[ConstraintItem, ...]

    @property
    def parameters(self) -> list[Data]:
        return [d for d in self.data.values() if not d.is_learnable]

    @property
    def learnables(self) -> list[Data]:
        return [d for d in self.data.values() if d.is_learnable]
