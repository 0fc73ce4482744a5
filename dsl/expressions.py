"""Typing expressions: resolve names, infer shapes, check indices in every loop iteration.

Shapes follow NumPy: broadcasting for ``+ - * /``, the ``@`` rules of ``numpy.matmul`` for
vectors and matrices, 0-based indices and half-open slices. Unlike NumPy, an index or a
slice that reaches outside its axis is an error (inside a loop: in any iteration), and a
negative index is allowed only where it does not depend on a loop index.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from . import ast
from . import model as m
from .errors import ExpressionError, ModelTooLargeError, OptIndexError, OptNameError, OptShapeError, did_you_mean
from .integers import (
    MAX_ITERATIONS,
    IntConstant,
    IntExpr,
    IterationLimit,
    IterationSpace,
    LoopIndex,
    describe_row,
    int_binary,
)
from .scope import DataSymbol, DimensionSymbol, IndexSymbol, LetSymbol, Scope, VariableSymbol, symbol_kind
from .signatures import Shape, ShapeProblem, Signature, broadcast, describe_shape

MAX_INTEGER = 10**12
"""Largest integer literal accepted where an integer is needed (sizes, indices, loop bounds)."""

_SNIPPET = 40


def snippet(node: ast.Node | m.TExpr) -> str:
    """The source text of a node for messages, shortened when long."""
    text = " ".join(node.span.text().split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


class Typer:
    """Turns ast expressions into typed expressions within a scope and an iteration space."""

    def __init__(self, scope: Scope, functions: Mapping[str, Signature]) -> None:
        self.scope = scope
        self.functions = functions

    # ---- integers -------------------------------------------------------------------

    def integer(self, node: ast.Node, what: str, loop_indices: bool = True) -> IntExpr:
        """``node`` as an integer expression of literals, dimensions and (if allowed) loop indices."""
        if isinstance(node, ast.Number):
            if not node.is_integer:
                raise ExpressionError(f"{what} must be an integer, not `{node.text}`", node.span)
            value = int(node.text)
            if value > MAX_INTEGER:
                raise ModelTooLargeError(f"{what} {value} is too large", node.span, hint=f"the limit is {MAX_INTEGER}")
            return IntConstant(node.span, value)
        if isinstance(node, ast.Name):
            symbol = self.scope.lookup(node.id, node.span)
            if isinstance(symbol, DimensionSymbol):
                return IntConstant(node.span, symbol.dimension.value)
            if isinstance(symbol, IndexSymbol) and loop_indices:
                return LoopIndex(node.span, node.id)
            allowed = "integers, dimensions and loop indices" if loop_indices else "integers and dimensions"
            raise ExpressionError(
                f"{what} must be known at compile time, but `{node.id}` is a {symbol_kind(symbol)}",
                node.span,
                hint=f"{what} is built from {allowed}",
            )
        if isinstance(node, ast.Sum):
            result = self.integer(node.terms[0], what, loop_indices)
            for term, sign in zip(node.terms[1:], node.signs[1:]):
                result = int_binary("+" if sign > 0 else "-", result, self.integer(term, what, loop_indices), node.span)
            return result
        if isinstance(node, ast.Unary):
            operand = self.integer(node.operand, what, loop_indices)
            return operand if node.op == "+" else int_binary("-", IntConstant(node.span, 0), operand, node.span)
        if isinstance(node, ast.Binary) and node.op in ("*", "//", "%"):
            left = self.integer(node.left, what, loop_indices)
            right = self.integer(node.right, what, loop_indices)
            if node.op != "*" and right.constant is None:
                raise ExpressionError(f"the right side of `{node.op}` must not depend on a loop index", node.right.span)
            if node.op != "*" and right.constant == 0:
                raise ExpressionError("division by zero", node.right.span)
            return int_binary(node.op, left, right, node.span)
        if isinstance(node, ast.Binary) and node.op == "/":
            raise ExpressionError(f"`/` gives a fraction, but {what} must be an integer", node.span, hint="use `//`")
        raise ExpressionError(
            f"{what} must be an integer expression",
            node.span,
            hint="use integers, dimensions and loop indices with `+ - * // %`",
        )

    def constant_integer(self, node: ast.Node, what: str) -> int:
        """An integer that must not depend on a loop index (a step, an axis)."""
        value = self.integer(node, what).constant
        if value is None:
            raise ExpressionError(f"{what} must not depend on a loop index", node.span)
        return value

    def loop_range(self, node: ast.Node, space: IterationSpace) -> tuple[IntExpr, IntExpr, int]:
        """``range(stop)``, ``range(start, stop)`` or ``range(start, stop, step)``, checked."""
        if not (isinstance(node, ast.Call) and node.func.id == "range"):
            raise ExpressionError(
                "a loop must run over `range(...)`",
                node.span,
                hint="write `for t in range(T):` or `for t in range(1, T + 1):`",
            )
        if node.keywords or node.generator or not 1 <= len(node.args) <= 3:
            raise ExpressionError(
                "`range` takes one to three integers", node.span, hint="range(stop), range(start, stop, step)"
            )
        bounds = [self.integer(arg, "a loop bound") for arg in node.args]
        start = bounds[0] if len(bounds) > 1 else IntConstant(node.span, 0)
        stop = bounds[1] if len(bounds) > 1 else bounds[0]
        step = self.constant_integer(node.args[2], "a loop step") if len(node.args) == 3 else 1
        if step == 0:
            raise ExpressionError("a loop step cannot be zero", node.args[2].span)
        return start, stop, step

    def extend(
        self, space: IterationSpace, index: str, bounds: tuple[IntExpr, IntExpr, int], node: ast.Node
    ) -> IterationSpace:
        try:
            return space.extend(index, *bounds)
        except IterationLimit as limit:
            raise ModelTooLargeError(
                f"these loops run {limit.total:,} iterations in all",
                node.span,
                hint=f"the limit is {MAX_ITERATIONS:,}; use a matrix variable and axis sums instead of loops",
            ) from None

    # ---- expressions ----------------------------------------------------------------

    def expr(self, node: ast.Node, space: IterationSpace) -> m.TExpr:
        method = getattr(self, "_" + type(node).__name__.lower(), None)
        if method is None or isinstance(node, (ast.Slice, ast.Keyword, ast.Generator)):
            raise ExpressionError("this is not an expression", node.span)
        return method(node, space)

    def _number(self, node: ast.Number, space: IterationSpace) -> m.TExpr:
        value = node.value
        if not math.isfinite(value):
            raise ExpressionError(f"the number `{node.text}` is too large", node.span)
        return m.Constant(node.span, (), value)

    def _name(self, node: ast.Name, space: IterationSpace) -> m.TExpr:
        symbol = self.scope.lookup(node.id, node.span)
        if isinstance(symbol, DimensionSymbol):
            return m.Constant(node.span, (), float(symbol.dimension.value))
        if isinstance(symbol, IndexSymbol):
            return m.IndexValue(node.span, (), LoopIndex(node.span, node.id))
        if isinstance(symbol, DataSymbol):
            return m.DataRef(node.span, symbol.data.shape, symbol.data)
        if isinstance(symbol, VariableSymbol):
            return m.VariableRef(node.span, symbol.variable.shape, symbol.variable)
        assert isinstance(symbol, LetSymbol)
        return m.LetRef(node.span, symbol.value.shape, node.id, symbol.value)

    def _sum(self, node: ast.Sum, space: IterationSpace) -> m.TExpr:
        terms = [self.expr(term, space) for term in node.terms]
        shape = terms[0].shape
        for i in range(1, len(terms)):
            combined = broadcast(shape, terms[i].shape)
            if combined is None:
                adding = node.signs[i] > 0
                raise OptShapeError(
                    f"cannot {'add' if adding else 'subtract'} {describe_shape(terms[i].shape)} "
                    f"{'to' if adding else 'from'} {describe_shape(shape)}",
                    terms[i].span,
                    hint=_pair_hint(node.terms[0].span.to(node.terms[i - 1].span), shape, terms[i]),
                )
            shape = combined
        return m.Sum(node.span, shape, tuple(terms), node.signs)

    def _binary(self, node: ast.Binary, space: IterationSpace) -> m.TExpr:
        if node.op in ("//", "%"):
            return m.IndexValue(node.span, (), self.integer(node, f"each side of `{node.op}`"))
        left = self.expr(node.left, space)
        right = self.expr(node.right, space)
        if node.op == "@":
            return m.Binary(node.span, _matmul_shape(left, right, node), "@", left, right)
        if node.op == "/" and right.has_variables:
            raise ExpressionError(
                "division by an expression that contains variables",
                node.right.span,
                hint="divide only by numbers, dimensions and parameters",
            )
        shape = broadcast(left.shape, right.shape)
        if shape is None:
            word = "multiply" if node.op == "*" else "divide"
            raise OptShapeError(
                f"cannot {word} {describe_shape(left.shape)} by {describe_shape(right.shape)} elementwise",
                node.span,
                hint=_pair_hint(left.span, left.shape, right)
                + ("; for a matrix product use `@`" if node.op == "*" else ""),
            )
        return m.Binary(node.span, shape, node.op, left, right)

    def _unary(self, node: ast.Unary, space: IterationSpace) -> m.TExpr:
        operand = self.expr(node.operand, space)
        return operand if node.op == "+" else m.Negate(node.span, operand.shape, operand)

    def _power(self, node: ast.Power, space: IterationSpace) -> m.TExpr:
        base = self.expr(node.base, space)
        exponent = self.expr(node.exponent, space)
        value = _numeric_value(exponent)
        if value is None:
            raise ExpressionError(
                "an exponent must be a number", node.exponent.span, hint="write `x ** 2`, or `square(x)`"
            )
        return m.Power(node.span, base.shape, base, value)

    def _attribute(self, node: ast.Attribute, space: IterationSpace) -> m.TExpr:
        if node.attr.id != "T":
            raise ExpressionError(
                f"unknown attribute `.{node.attr.id}`", node.attr.span, hint="the only attribute is `.T` (transpose)"
            )
        operand = self.expr(node.value, space)
        return m.Transpose(node.span, tuple(reversed(operand.shape)), operand)

    def _subscript(self, node: ast.Subscript, space: IterationSpace) -> m.TExpr:
        operand = self.expr(node.value, space)
        shape = operand.shape
        if not shape:
            raise OptIndexError(f"`{snippet(node.value)}` is a scalar and cannot be indexed", node.span)
        if len(node.items) > len(shape):
            raise OptIndexError(
                f"too many indices: `{snippet(node.value)}` has {describe_shape(shape)}, "
                f"so at most {len(shape)} ind{'ex' if len(shape) == 1 else 'ices'}",
                node.items[len(shape)].span,
            )
        items: list[m.IndexItem] = []
        result: list[int] = []
        for axis, item in enumerate(node.items):
            where = _axis_words(axis, shape)
            if isinstance(item, ast.Slice):
                selected = self._slice(item, shape[axis], where, space)
                items.append(selected)
                result.append(selected.length)
            else:
                items.append(self._take(item, shape[axis], where, space))
        for size in shape[len(node.items) :]:
            items.append(m.Range(IntConstant(node.span, 0), 1, size))
            result.append(size)
        return m.Index(node.span, tuple(result), operand, tuple(items))

    def _take(self, node: ast.Node, size: int, where: str, space: IterationSpace) -> m.Take:
        index = self.integer(node, "an index")
        if index.constant is not None:
            value = index.constant + size if index.constant < 0 else index.constant
            if not 0 <= value < size:
                raise OptIndexError(
                    f"index {index.constant} is out of range for {where} of length {size}",
                    node.span,
                    hint=f"valid indices are 0 to {size - 1} (or -{size} to -1 from the end)",
                )
            return m.Take(IntConstant(node.span, value))
        values = space.evaluate(index)
        bad = np.flatnonzero((values < 0) | (values >= size))
        if bad.size and not space.probe:
            row = int(bad[0])
            raise OptIndexError(
                f"index `{snippet(node)}` is {int(values[row])} when {describe_row(space, row)}, "
                f"out of range for {where} of length {size}",
                node.span,
                hint=f"valid indices are 0 to {size - 1}; inside loops, indices must not be negative",
            )
        return m.Take(index)

    def _slice(self, node: ast.Slice, size: int, where: str, space: IterationSpace) -> m.Range:
        step = 1 if node.step is None else self.constant_integer(node.step, "a slice step")
        if step == 0:
            raise OptIndexError("a slice step cannot be zero", node.step.span)
        start = self._slice_bound(node.start, size, IntConstant(node.span, 0 if step > 0 else size - 1))
        stop = self._slice_bound(node.stop, size, IntConstant(node.span, size if step > 0 else -1))
        first = space.evaluate(start)
        last = space.evaluate(stop)
        lengths = np.maximum(0, (last - first + step - (1 if step > 0 else -1)) // step)
        final = first + (lengths - 1) * step
        if not space.probe:
            low, high = (first, final) if step > 0 else (final, first)
            bad = np.flatnonzero((lengths > 0) & ((low < 0) | (high >= size)))
            if bad.size or (step > 0 and np.any(last > size)):
                row = int(bad[0]) if bad.size else int(np.flatnonzero(last > size)[0])
                when = f" when {describe_row(space, row)}" if space.names else ""
                raise OptIndexError(
                    f"slice `{snippet(node)}` reaches outside {where} of length {size}{when}",
                    node.span,
                    hint=f"positions run from 0 to {size - 1}",
                )
        if np.any(lengths != lengths[0]):
            row = int(np.flatnonzero(lengths != lengths[0])[0])
            raise OptShapeError(
                f"the length of slice `{snippet(node)}` changes from iteration to iteration "
                f"({int(lengths[0])} when {describe_row(space, 0)}, {int(lengths[row])} when {describe_row(space, row)})",
                node.span,
                hint="every iteration of a loop must have the same shapes; "
                "for a growing sum write `sum(x[j] for j in range(t))`",
            )
        if lengths[0] == 0:
            raise OptIndexError(f"slice `{snippet(node)}` selects nothing", node.span)
        return m.Range(start, step, int(lengths[0]))

    def _slice_bound(self, node: ast.Node | None, size: int, default: IntExpr) -> IntExpr:
        """A slice's start or stop; a negative constant counts from the end, as in Python."""
        if node is None:
            return default
        bound = self.integer(node, "a slice bound")
        if bound.constant is not None and bound.constant < 0:
            return IntConstant(node.span, bound.constant + size)
        return bound

    def _call(self, node: ast.Call, space: IterationSpace) -> m.TExpr:
        name = node.func.id
        if name == "range":
            raise ExpressionError(
                "`range(...)` can only follow `in` in a `for` loop or a generator",
                node.span,
                hint="for t in range(T):   or   sum(x[t] for t in range(T))",
            )
        signature = self.functions.get(name)
        if signature is None:
            hint = did_you_mean(name, self.functions) or "the functions are listed in the language reference"
            raise OptNameError(f"unknown function `{name}`", node.func.span, hint=hint)
        if node.generator is not None:
            return self._generator_sum(node, signature, space)
        options = self._options(node, signature)
        self._check_arity(node, signature)
        args = tuple(self.expr(arg, space) for arg in node.args)
        for position in signature.constant_arguments:
            if position < len(args) and args[position].has_variables:
                raise ExpressionError(
                    f"the {_ordinal(position)} argument of `{name}` must not contain variables",
                    node.args[position].span,
                    hint=f"{signature.usage()}: {signature.summary}",
                )
        try:
            shape = signature.shape([a.shape for a in args], options)
        except ShapeProblem as problem:
            at = node.args[problem.argument].span if problem.argument is not None else node.span
            raise OptShapeError(f"`{name}`: {problem.message}", at, hint=problem.hint or signature.usage()) from None
        return m.Call(node.span, shape, name, args, tuple(sorted(options.items())))

    def _options(self, node: ast.Call, signature: Signature) -> dict[str, int]:
        options: dict[str, int] = {}
        for keyword in node.keywords:
            key = keyword.name.id
            if key not in signature.keywords:
                accepted = ", ".join(f"`{k}`" for k in signature.keywords) or "none"
                raise ExpressionError(
                    f"`{signature.name}` has no keyword argument `{key}`",
                    keyword.name.span,
                    hint=did_you_mean(key, signature.keywords) or f"its keyword arguments: {accepted}",
                )
            if key in options:
                raise ExpressionError(f"keyword argument `{key}` is given twice", keyword.span)
            options[key] = self.constant_integer(keyword.value, f"`{key}`")
        return options

    def _check_arity(self, node: ast.Call, signature: Signature) -> None:
        given = len(node.args)
        most = len(signature.arguments)
        least = most - signature.optional
        if given < least or (given > most and not signature.variadic):
            if signature.variadic:
                expected = f"at least {least}"
            elif least == most:
                expected = f"{most}"
            else:
                expected = f"{least} to {most}"
            plural = "" if expected == "1" else "s"
            raise ExpressionError(
                f"`{signature.name}` takes {expected} argument{plural}, but {given} {'is' if given == 1 else 'are'} given",
                node.span,
                hint=f"{signature.usage()}: {signature.summary}",
            )

    def _generator_sum(self, node: ast.Call, signature: Signature, space: IterationSpace) -> m.TExpr:
        generator = node.generator
        if not signature.generator:
            raise ExpressionError(
                f"`{signature.name}` does not take a generator",
                generator.span,
                hint="only `sum(EXPR for i in range(...))` does",
            )
        if node.args or node.keywords:
            raise ExpressionError("a generator must be the only argument of `sum`", node.span)
        bounds = self.loop_range(generator.iterable, space)
        inner = self.extend(space, generator.var.id, bounds, generator.iterable)
        self.scope.push()
        try:
            self.scope.declare(generator.var.id, generator.var.span, IndexSymbol(generator.var.id, generator.var.span))
            body = self.expr(generator.element, inner)
        finally:
            self.scope.pop()
        start, stop, step = bounds
        return m.GeneratorSum(node.span, body.shape, generator.var.id, start, stop, step, body)


def _numeric_value(expr: m.TExpr) -> float | None:
    """The value of a numeric literal (possibly negated), else None."""
    if isinstance(expr, m.Constant):
        return expr.value
    if isinstance(expr, m.Negate):
        inner = _numeric_value(expr.operand)
        return None if inner is None else -inner
    return None


def _matmul_shape(left: m.TExpr, right: m.TExpr, node: ast.Binary) -> Shape:
    a, b = left.shape, right.shape
    if not a or not b:
        raise OptShapeError(
            "`@` multiplies vectors and matrices, not scalars",
            node.span,
            hint="use `*` to multiply by a scalar",
        )
    if a[-1] != b[0]:
        raise OptShapeError(
            f"`@` needs matching inner sizes, but the left side has {describe_shape(a)} "
            f"and the right side {describe_shape(b)}",
            node.span,
            hint=f"`{snippet(left)}` has {describe_shape(a)}; `{snippet(right)}` has {describe_shape(b)}",
        )
    return a[:-1] + b[1:]


def _pair_hint(left_span, left_shape: Shape, right: m.TExpr) -> str:
    left_text = " ".join(left_span.text().split())
    if len(left_text) > _SNIPPET:
        left_text = left_text[: _SNIPPET - 1] + "…"
    return f"`{left_text}` has {describe_shape(left_shape)}; `{snippet(right)}` has {describe_shape(right.shape)}"


def _axis_words(axis: int, shape: Sequence[int]) -> str:
    if len(shape) == 1:
        return "a vector"
    return "the rows" if axis == 0 else "the columns"


def _ordinal(position: int) -> str:
    return ("first", "second", "third", "fourth")[position] if position < 4 else f"#{position + 1}"
