"""Syntax tree to checked model: names, shapes, attributes, loops and constraints.

Statements are checked one at a time; an error in one is recorded and checking goes on
with the next, so one run reports every independent error. A declaration that failed
leaves its name *poisoned*: later uses of it are skipped instead of reported again.
"""

from __future__ import annotations

from collections.abc import Mapping

from optlayer.errors import OptError

from . import ast
from . import model as m
from .declarations import (
    DATA_ATTRIBUTES,
    MAX_SIZE,
    VARIABLE_ATTRIBUTES,
    declared_attributes,
    declared_init,
    declared_shape,
)
from .errors import (
    DimensionError,
    ExpressionError,
    OptNameError,
    OptShapeError,
    SourceError,
    did_you_mean,
    raise_collected,
)
from .expressions import Typer, snippet
from .integers import IterationSpace
from .scope import (
    DataSymbol,
    DimensionSymbol,
    IndexSymbol,
    LetSymbol,
    Poisoned,
    Scope,
    VariableSymbol,
    refuse_reserved_variable,
)
from .signatures import Signature, broadcast, describe_shape
from .source import Span


def check(
    module: ast.Module, functions: Mapping[str, Signature], dimensions: Mapping[str, int] | None = None
) -> m.CheckedModel:
    """Check ``module`` with the given function vocabulary and dimension values.

    ``dimensions`` overrides the declared defaults by name. Raises one OptError, or a
    ModelErrors holding every independent error found.
    """
    return _Checker(module, functions, dict(dimensions or {})).run()


class _Checker:
    def __init__(self, module: ast.Module, functions: Mapping[str, Signature], overrides: dict[str, int]) -> None:
        self.module = module
        self.overrides = overrides
        self.scope = Scope(functions, _declarations(module))
        self.typer = Typer(self.scope, functions)
        self.errors: list[OptError] = []
        self.dimensions: dict[str, m.Dimension] = {}
        self.data: dict[str, m.Data] = {}
        self.variables: dict[str, m.Variable] = {}
        self.objective: m.Objective | None = None
        self.constraints: list[m.ConstraintItem] = []
        self.labels: dict[str, ast.Name] = {}

    def run(self) -> m.CheckedModel:
        self._check_overrides()
        for statement in self.module.statements:
            if isinstance(statement, ast.SubjectTo):
                self.constraints += self._items(statement.items, IterationSpace.root())
            else:
                self._guarded(self._statement, statement)
        raise_collected(self.errors)
        return m.CheckedModel(
            self.module.source, self.dimensions, self.data, self.variables, self.objective, tuple(self.constraints)
        )

    def _guarded(self, check, node, *args):
        """Run one check; record its error (poisoning a declared name) and carry on."""
        try:
            return check(node, *args)
        except SourceError as error:
            self.errors.append(error)
        except Poisoned:
            pass
        name = getattr(node, "name", None)
        if isinstance(name, ast.Name):
            self.scope.poison(name.id, name.span)
        return None

    # ---- statements ---------------------------------------------------------------------

    def _statement(self, node: ast.Statement) -> None:
        if isinstance(node, ast.DimensionDecl):
            self._dimension(node)
        elif isinstance(node, ast.DataDecl):
            self._data(node)
        elif isinstance(node, ast.VariableDecl):
            self._variable(node)
        elif isinstance(node, ast.Let):
            self._let(node, IterationSpace.root())
        elif isinstance(node, ast.Objective):
            self._objective(node)

    def _dimension(self, node: ast.DimensionDecl) -> None:
        name = node.name.id
        if name in self.overrides:
            value = self.overrides[name]
        elif node.default is not None:
            value = self.typer.integer(node.default, "a dimension", loop_indices=False).constant
        else:
            raise DimensionError(
                f"dimension `{name}` has no value",
                node.span,
                hint=f"give it one: `dimension {name} = 10` in the model, `{name}=10` when compiling, or `-D {name}=10`",
            )
        if not 1 <= value <= MAX_SIZE:
            where = node.default.span if node.default is not None and name not in self.overrides else node.name.span
            raise DimensionError(f"dimension `{name}` is {value}, but it must be between 1 and {MAX_SIZE:,}", where)
        dimension = m.Dimension(name, value, node.span)
        self.scope.declare(name, node.name.span, DimensionSymbol(dimension))
        self.dimensions[name] = dimension

    def _data(self, node: ast.DataDecl) -> None:
        shape = declared_shape(self.typer, node.shape)
        attributes = declared_attributes(node.attributes, DATA_ATTRIBUTES, shape, node.kind)
        init = declared_init(node.init, node.kind, shape, attributes)
        data = m.Data(node.kind, node.name.id, shape, attributes, init, node.span)
        self.scope.declare(node.name.id, node.name.span, DataSymbol(data))
        self.data[data.name] = data

    def _variable(self, node: ast.VariableDecl) -> None:
        refuse_reserved_variable(node.name.id, node.name.span)
        shape = declared_shape(self.typer, node.shape)
        attributes = declared_attributes(node.attributes, VARIABLE_ATTRIBUTES, shape, "variable")
        variable = m.Variable(node.name.id, shape, attributes, node.span)
        self.scope.declare(node.name.id, node.name.span, VariableSymbol(variable))
        self.variables[variable.name] = variable

    def _let(self, node: ast.Let, space: IterationSpace) -> None:
        value = self.typer.expr(node.value, space)
        self.scope.declare(node.name.id, node.name.span, LetSymbol(node.name.id, value, node.name.span))

    def _objective(self, node: ast.Objective) -> None:
        if self.objective is not None:
            raise ExpressionError(
                "a model has at most one objective",
                node.span,
                notes=[("the first objective is here", self.objective.span)],
                hint="combine the terms into one expression",
            )
        expr = self.typer.expr(node.expr, IterationSpace.root())
        if expr.shape != ():
            raise OptShapeError(
                f"the objective must be a scalar, but `{snippet(node.expr)}` has {describe_shape(expr.shape)}",
                node.expr.span,
                hint="sum(...), sum_squares(...) or a norm turns a vector into a scalar",
            )
        self.objective = m.Objective(node.sense, expr, node.span)

    def _check_overrides(self) -> None:
        declared = [s.name.id for s in self.module.statements if isinstance(s, ast.DimensionDecl)]
        for name, value in self.overrides.items():
            if name not in declared:
                listed = ", ".join(f"`{d}`" for d in declared) or "none"
                self.errors.append(
                    OptError(
                        f"the model has no dimension `{name}`",
                        filename=self.module.source.filename,
                        hint=did_you_mean(name, declared) or f"its dimensions: {listed}",
                    )
                )
            elif isinstance(value, bool) or not isinstance(value, int):
                self.errors.append(
                    OptError(
                        f"dimension `{name}` must be given an integer, not {value!r}",
                        filename=self.module.source.filename,
                    )
                )
                self.overrides.pop(name)

    # ---- constraints --------------------------------------------------------------------

    def _items(self, items: tuple[ast.BlockItem, ...], space: IterationSpace) -> list[m.ConstraintItem]:
        """Check the items of a block in order; a `let` is visible to the items after it."""
        checked: list[m.ConstraintItem] = []
        for item in items:
            if isinstance(item, ast.Let):
                self._guarded(self._let, item, space)
                continue
            result = self._guarded(self._loop if isinstance(item, ast.ForBlock) else self._constraint, item, space)
            if result is not None:
                checked.append(result)
        return checked

    def _loop(self, node: ast.ForBlock, space: IterationSpace) -> m.Loop:
        bounds = self.typer.loop_range(node.iterable, space)
        inner = self.typer.extend(space, node.var.id, bounds, node.iterable)
        self.scope.push()
        try:
            self.scope.declare(node.var.id, node.var.span, IndexSymbol(node.var.id, node.var.span))
            body = self._items(node.body, inner)
        finally:
            self.scope.pop()
        start, stop, step = bounds
        return m.Loop(node.var.id, start, stop, step, tuple(body), node.span)

    def _constraint(self, node: ast.Constraint, space: IterationSpace) -> m.Constraint:
        operator = self._operator(node)
        label = self._label(node.label)
        operands = tuple(self.typer.expr(operand, space) for operand in node.operands)
        for left, right, op in zip(operands, operands[1:], node.operators):
            if broadcast(left.shape, right.shape) is None:
                raise OptShapeError(
                    f"the two sides of `{op.symbol}` have different shapes: "
                    f"{describe_shape(left.shape)} and {describe_shape(right.shape)}",
                    op.span,
                    hint=f"`{snippet(left)}` has {describe_shape(left.shape)}; "
                    f"`{snippet(right)}` has {describe_shape(right.shape)}",
                )
        if not any(operand.has_variables for operand in operands):
            raise ExpressionError(
                "this constraint contains no variable",
                node.span,
                hint="to require a parameter to be nonnegative, declare it `nonneg`",
            )
        if label is not None:
            self.labels[label.id] = label
        return m.Constraint(label.id if label else None, operands, operator, node.span)

    def _operator(self, node: ast.Constraint) -> str:
        for op in node.operators:
            if op.symbol in ("<", ">"):
                raise ExpressionError(
                    f"strict inequality `{op.symbol}` is not supported", op.span, hint=f"use `{op.symbol}=`"
                )
            if op.symbol == "=":
                raise ExpressionError("`=` is not a comparison", op.span, hint="write `==` for an equality constraint")
            if op.symbol == "!=":
                raise ExpressionError("`!=` cannot be a constraint of a convex problem", op.span)
        symbols = {op.symbol for op in node.operators}
        if len(symbols) > 1:
            raise ExpressionError(
                "a chain of comparisons must use one operator throughout",
                node.operators[1].span,
                hint="write `lo <= x <= hi`, or split it into separate constraints",
            )
        return node.operators[0].symbol

    def _label(self, label: ast.Name | None) -> ast.Name | None:
        if label is None:
            return None
        if label.id in self.labels:
            raise OptNameError(
                f"constraint name `{label.id}` is used twice",
                label.span,
                notes=[("it was first used here", self.labels[label.id].span)],
                hint="inside a `for` block one name already collects one dual per iteration",
            )
        return label


def _declarations(module: ast.Module) -> dict[str, Span]:
    """Where each top-level name is declared, to explain a use before the declaration."""
    spans = {}
    for statement in module.statements:
        name = getattr(statement, "name", None)
        if isinstance(name, ast.Name):
            spans.setdefault(name.id, name.span)
    return spans
