"""Checked model to canonical pieces: affine constraints, an objective, and auxiliary variables.

The walk checks curvature (compiler/curvature.py), then turns every expression into either
a Data node (no variables) or an Affine (compiler/affine.py), in the iteration space of the
loops around it. Atoms add auxiliary variables and epigraph constraints through the small
interface of ``Canonicalizer`` (``aux``, ``at_most_zero``, ``squares``, ``quadratic_form``).
compiler/assemble.py turns the result into the standard form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from optlayer.dsl import model as m
from optlayer.dsl.errors import ModelErrors, raise_collected
from optlayer.dsl.expressions import snippet
from optlayer.dsl.integers import IterationSpace

from . import affine, data
from .affine import Affine, Term
from .atoms import ATOMS
from .curvature import Curvature, require
from .data import Data
from .errors import ConvexityError

Operand = Affine | Data


@dataclass(frozen=True)
class Origin:
    """Where a piece of the standard form comes from: a source construct, in which iterations."""

    description: str
    span: object = None
    label: str | None = None
    loop_names: tuple[str, ...] = ()
    loop_values: np.ndarray | None = None


@dataclass(frozen=True)
class Segment:
    """A slice of z: a user variable or a block of auxiliary variables (one per iteration row)."""

    name: str
    shape: tuple[int, ...]
    rows: int
    offset: int
    auxiliary: bool
    origin: Origin

    @property
    def size(self) -> int:
        return self.rows * math.prod(self.shape)


@dataclass(frozen=True)
class Relation:
    """``expr <= 0`` (kind "<=") or ``expr == 0`` (kind "=="), for every row and position."""

    kind: str
    expr: Affine
    origin: Origin


@dataclass(frozen=True)
class SquareBlock:
    """Virtual coordinates first … first + count - 1: squares of an Affine, or quadratic forms."""

    first: int
    expr: Affine
    matrix: Data | None = None

    @property
    def count(self) -> int:
        return self.expr.rows * (self.expr.size if self.matrix is None else 1)


@dataclass(frozen=True)
class DualPart:
    relation: int
    sign: int


@dataclass
class Canonical:
    """Everything compiler/assemble.py needs to build the standard form."""

    model: m.CheckedModel
    segments: list[Segment] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    squares: list[SquareBlock] = field(default_factory=list)
    objective: Affine | None = None
    duals: dict[str, tuple[tuple[DualPart, ...], tuple[int, ...], int | None]] = field(default_factory=dict)

    @property
    def variable_count(self) -> int:
        return sum(s.size for s in self.segments)


def canonicalize(model: m.CheckedModel) -> Canonical:
    """Check curvature and canonicalize ``model``; raises ConvexityError for a non-QP."""
    return Canonicalizer(model).run()


class Canonicalizer:
    def __init__(self, model: m.CheckedModel) -> None:
        self.result = Canonical(model)
        self.virtual_count = 0
        self.origin = Origin("model")
        self._memo: dict[tuple[int, int], tuple[m.TExpr, IterationSpace, Operand]] = {}
        self._offsets: dict[str, int] = {}

    def run(self) -> Canonical:
        model = self.result.model
        root = IterationSpace.root()
        for variable in model.variables.values():
            self._offsets[variable.name] = self._allocate(
                variable.name, variable.shape, 1, False, Origin(f"variable {variable.name}", variable.span)
            )
        for variable in model.variables.values():
            self._variable_bounds(variable, root)
        errors: list = []
        if model.objective is not None:
            self._collecting(errors, self._objective, model.objective, root)
        for item in model.constraints:
            self._collecting(errors, self._item, item, root, ())
        raise_collected(errors)
        return self.result

    @staticmethod
    def _collecting(errors: list, step, *args) -> None:
        """Run one objective or constraint step; a convexity error is kept and the next one checked."""
        try:
            step(*args)
        except ConvexityError as error:
            errors.append(error)
        except ModelErrors as group:
            errors.extend(group.errors)

    # ---- the interface atoms use --------------------------------------------------------

    def aux(self, shape: tuple[int, ...], rows: int, what: str) -> Affine:
        """New auxiliary variables of ``shape``, one set per iteration row."""
        size = math.prod(shape)
        origin = Origin(
            f"auxiliary for {what} in {self.origin.description}",
            self.origin.span,
            None,
            self.origin.loop_names,
            self.origin.loop_values,
        )
        count = sum(1 for s in self.result.segments if s.auxiliary) + 1
        offset = self._allocate(f"t{count}", shape, rows, True, origin)
        cols = (offset + np.arange(rows * size, dtype=np.int64)).reshape(rows, size, 1)
        return Affine(tuple(shape), rows, (Term(cols, None),), None)

    def at_most_zero(self, expr: Affine) -> None:
        """Add the constraint ``expr <= 0`` (an epigraph constraint of the atom being canonicalized)."""
        self.result.relations.append(Relation("<=", expr, self._auxiliary_origin()))

    def squares(self, expr: Affine) -> Affine:
        """The elementwise squares of ``expr``, as virtual coordinates."""
        block = SquareBlock(self.virtual_count, expr)
        self.result.squares.append(block)
        self.virtual_count += block.count
        return affine.virtual(block.first, expr.shape, expr.rows)

    def quadratic_form(self, expr: Affine, matrix: Data) -> Affine:
        """``exprᵀ matrix expr`` for a vector ``expr``, one virtual coordinate per iteration row."""
        block = SquareBlock(self.virtual_count, expr, matrix)
        self.result.squares.append(block)
        self.virtual_count += block.count
        return affine.virtual(block.first, (), expr.rows)

    def affine(self, operand: Operand, rows: int) -> Affine:
        return operand if isinstance(operand, Affine) else affine.constant(operand, rows)

    # ---- model pieces -----------------------------------------------------------------------

    def _allocate(self, name: str, shape, rows: int, auxiliary: bool, origin: Origin) -> int:
        offset = self.result.variable_count
        self.result.segments.append(Segment(name, tuple(shape), rows, offset, auxiliary, origin))
        return offset

    def _auxiliary_origin(self) -> Origin:
        return Origin(
            f"epigraph constraint in {self.origin.description}",
            self.origin.span,
            None,
            self.origin.loop_names,
            self.origin.loop_values,
        )

    def _variable_bounds(self, variable: m.Variable, root: IterationSpace) -> None:
        for attribute, sign in (("nonneg", -1), ("nonpos", 1)):
            if attribute in variable.attributes:
                expr = affine.variable(self._offsets[variable.name], variable.shape, 1)
                origin = Origin(f"`{variable.name}` declared {attribute}", variable.span)
                self.result.relations.append(Relation("<=", expr if sign > 0 else affine.negate(expr), origin))

    def _objective(self, objective: m.Objective, root: IterationSpace) -> None:
        wanted = Curvature.CONVEX if objective.sense == "minimize" else Curvature.CONCAVE
        require(
            objective.expr,
            wanted,
            f"the objective of a {'minimization' if wanted is Curvature.CONVEX else 'maximization'}",
            True,
        )
        self.origin = Origin("the objective", objective.span)
        expr = self.affine(self.operand(objective.expr, root), 1)
        self.result.objective = expr if objective.sense == "minimize" else affine.negate(expr)

    def _item(self, item: m.ConstraintItem, space: IterationSpace, names: tuple[str, ...]) -> None:
        if isinstance(item, m.Loop):
            inner = space.extend(item.index, item.start, item.stop, item.step)
            if inner.probe:
                return
            errors: list = []
            for child in item.body:
                self._collecting(errors, self._item, child, inner, names + (item.index,))
            raise_collected(errors)
            return
        self._constraint(item, space, names)

    def _constraint(self, constraint: m.Constraint, space: IterationSpace, names: tuple[str, ...]) -> None:
        text = " ".join(constraint.span.text().split())
        values = np.stack([space.values[n] for n in names], axis=1) if names else None
        self.origin = Origin(f"constraint `{text}`", constraint.span, constraint.label, names, values)
        for left, right in zip(constraint.operands, constraint.operands[1:]):
            self._check_pair(left, right, constraint.operator)
        operands = [self.operand(o, space) for o in constraint.operands]
        parts = []
        for left, right in zip(operands, operands[1:]):
            if constraint.operator == ">=":
                left, right = right, left
            difference = affine.add(self.affine(left, space.size), self.affine(right, space.size), -1)
            self.result.relations.append(
                Relation("==" if constraint.operator == "==" else "<=", difference, self.origin)
            )
            parts.append(DualPart(len(self.result.relations) - 1, 1))
        if constraint.label is not None:
            shape = self.result.relations[parts[0].relation].expr.shape
            self.result.duals[constraint.label] = (tuple(parts), shape, space.size if names else None)

    def _check_pair(self, left: m.TExpr, right: m.TExpr, operator: str) -> None:
        if operator == "==":
            for side in (left, right):
                require(side, Curvature.AFFINE, "each side of `==`", False)
            return
        lesser, greater = (left, right) if operator == "<=" else (right, left)
        require(lesser, Curvature.CONVEX, f"the smaller side of `{operator}`", False)
        require(greater, Curvature.CONCAVE, f"the larger side of `{operator}`", False)

    # ---- expressions ------------------------------------------------------------------------

    def operand(self, node: m.TExpr, space: IterationSpace) -> Operand:
        """``node`` in ``space``: a Data node when it has no variables, else an Affine."""
        key = (id(node), id(space))
        hit = self._memo.get(key)
        if hit is not None:
            return hit[2]
        result = self._value(node, space) if not node.has_variables else self._affine(node, space)
        self._memo[key] = (node, space, result)  # holding node and space keeps their ids unique
        return result

    def _value(self, node: m.TExpr, space: IterationSpace) -> Data:
        if isinstance(node, m.Constant):
            return data.literal(node.value)
        if isinstance(node, m.IndexValue):
            return data.literal(space.evaluate(node.index).astype(np.float64), rows=space.size)
        if isinstance(node, m.DataRef):
            return data.Param(node.data.shape, None, node.data.name)
        if isinstance(node, m.LetRef):
            return self.operand(node.value, space)
        if isinstance(node, m.Negate):
            return data.neg(self.operand(node.operand, space))
        if isinstance(node, m.Sum):
            total = self.operand(node.terms[0], space)
            for term, sign in zip(node.terms[1:], node.signs[1:]):
                value = self.operand(term, space)
                total = data.add(total, value) if sign > 0 else data.sub(total, value)
            return total
        if isinstance(node, m.Binary):
            left, right = self.operand(node.left, space), self.operand(node.right, space)
            return {"*": data.mul, "/": data.div, "@": data.matmul}[node.op](left, right)
        if isinstance(node, m.Power):
            return data.power(self.operand(node.base, space), node.exponent)
        if isinstance(node, m.Transpose):
            return data.transpose(self.operand(node.operand, space))
        if isinstance(node, m.Index):
            source, looped = positions(node, space)
            return data.take(self.operand(node.operand, space), source, looped, _index_label(node))
        if isinstance(node, m.Call):
            args = [self.operand(a, space) for a in node.args]
            return ATOMS[node.function].value(args, dict(node.options))
        if isinstance(node, m.GeneratorSum):
            inner = space.extend(node.index, node.start, node.stop, node.step)
            if inner.probe:
                return data.literal(np.zeros(node.shape))
            return data.row_sum(self.operand(node.body, inner), inner.parent, space.size)
        raise AssertionError(f"no value rule for {type(node).__name__}")

    def _affine(self, node: m.TExpr, space: IterationSpace) -> Affine:
        rows = space.size
        if isinstance(node, m.VariableRef):
            return affine.variable(self._offsets[node.variable.name], node.shape, rows)
        if isinstance(node, m.LetRef):
            return self.operand(node.value, space)
        if isinstance(node, m.Negate):
            return affine.negate(self.operand(node.operand, space))
        if isinstance(node, m.Sum):
            total = self.affine(self.operand(node.terms[0], space), rows)
            for term, sign in zip(node.terms[1:], node.signs[1:]):
                total = affine.add(total, self.affine(self.operand(term, space), rows), sign)
            return total
        if isinstance(node, m.Binary):
            return self._binary(node, space)
        if isinstance(node, m.Power):
            base = self.operand(node.base, space)
            return base if node.exponent == 1 else self.squares(base)
        if isinstance(node, m.Transpose):
            return affine.transpose(self.operand(node.operand, space))
        if isinstance(node, m.Index):
            source, looped = positions(node, space)
            return affine.select(self.operand(node.operand, space), source, node.shape, _index_label(node), looped)
        if isinstance(node, m.Call):
            args = [self.operand(a, space) for a in node.args]
            return ATOMS[node.function].canonicalize(self, args, dict(node.options), rows)
        if isinstance(node, m.GeneratorSum):
            inner = space.extend(node.index, node.start, node.stop, node.step)
            if inner.probe:
                return affine.constant(data.literal(np.zeros(node.shape)), rows)
            return affine.sum_rows(self.operand(node.body, inner), inner.parent, rows)
        raise AssertionError(f"no canonicalization rule for {type(node).__name__}")

    def _binary(self, node: m.Binary, space: IterationSpace) -> Affine:
        left, right = self.operand(node.left, space), self.operand(node.right, space)
        if node.op == "*":
            expr, factor = (left, right) if isinstance(left, Affine) else (right, left)
            return affine.scale(expr, factor)
        if node.op == "/":
            return affine.scale(left, data.div(data.literal(1.0), right))
        if isinstance(left, Affine):
            return affine.matmul_right(left, right)
        return affine.matmul_left(left, right)


def positions(node: m.Index, space: IterationSpace) -> tuple[np.ndarray, bool]:
    """Flat positions of ``node.operand`` that ``node`` selects, per iteration row if they vary.

    Returns an array of the result's shape, with a leading row axis when looped.
    """
    shape = node.operand.shape
    strides = [math.prod(shape[i + 1 :]) for i in range(len(shape))]
    looped = any(_item_indices(item) for item in node.items)
    rows = space.size if looped else 1
    flat = np.zeros((rows,), dtype=np.int64)
    for item, stride in zip(node.items, strides):
        kept = flat.ndim - 1
        if isinstance(item, m.Take):
            index = space.evaluate(item.index) if looped else np.full(rows, item.index.constant, dtype=np.int64)
            flat = flat + index.reshape((rows,) + (1,) * kept) * stride
        else:
            start = space.evaluate(item.start) if looped else np.full(rows, item.start.constant, dtype=np.int64)
            along = start.reshape(rows, 1) + item.step * np.arange(item.length)
            flat = flat[..., None] + along.reshape((rows,) + (1,) * kept + (item.length,)) * stride
    return (flat if looped else flat[0]), looped


def _item_indices(item) -> bool:
    if isinstance(item, m.Take):
        return bool(item.index.loop_indices)
    return bool(item.start.loop_indices)


def _index_label(node: m.Index) -> str:
    text = node.span.text()
    return text[text.find("[") + 1 : -1] if "[" in text else snippet(node)
