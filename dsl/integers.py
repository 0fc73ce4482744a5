"""Integer expressions (sizes, indices, loop bounds) and the iteration spaces of loops.

Every dimension has a value at compile time, so every loop's iterations can be listed.
An iteration space holds, for each loop index in scope, a numpy array with its value in
every iteration (nested loops are flattened, one row per innermost iteration). An integer
expression evaluates to an array over those rows at once: one numpy operation checks an
index in all 1,000 iterations of a loop, and the compiler builds index tables the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .source import Span

MAX_ITERATIONS = 2_000_000
"""Most rows one iteration space (all nested loops and generators together) may have."""


@dataclass(frozen=True, eq=False)
class IntExpr:
    """An integer-valued expression of constants and loop indices."""

    span: Span

    @property
    def loop_indices(self) -> frozenset[str]:
        return frozenset()

    def evaluate(self, space: IterationSpace) -> np.ndarray | int:
        """The value in every row of ``space`` (a plain int when no loop index is involved)."""
        raise NotImplementedError

    @property
    def constant(self) -> int | None:
        """The value when it does not depend on a loop index."""
        return None


@dataclass(frozen=True, eq=False)
class IntConstant(IntExpr):
    value: int

    def evaluate(self, space: IterationSpace) -> int:
        return self.value

    @property
    def constant(self) -> int:
        return self.value


@dataclass(frozen=True, eq=False)
class LoopIndex(IntExpr):
    name: str

    @property
    def loop_indices(self) -> frozenset[str]:
        return frozenset({self.name})

    def evaluate(self, space: IterationSpace) -> np.ndarray:
        return space.values[self.name]


_INT_OPERATIONS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
}


@dataclass(frozen=True, eq=False)
class IntBinary(IntExpr):
    op: str
    left: IntExpr
    right: IntExpr
    indices: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "indices", self.left.loop_indices | self.right.loop_indices)

    @property
    def loop_indices(self) -> frozenset[str]:
        return self.indices

    def evaluate(self, space: IterationSpace) -> np.ndarray | int:
        return _INT_OPERATIONS[self.op](self.left.evaluate(space), self.right.evaluate(space))


def int_binary(op: str, left: IntExpr, right: IntExpr, span: Span) -> IntExpr:
    """``left op right``, folded to a constant when both sides are constants."""
    a, b = left.constant, right.constant
    if a is not None and b is not None:
        return IntConstant(span, _INT_OPERATIONS[op](a, b))
    return IntBinary(span, op, left, right)


def describe_row(space: IterationSpace, row: int) -> str:
    """``t = 3, j = 0``: the loop index values of one row, for error messages."""
    return ", ".join(f"{name} = {int(space.values[name][row])}" for name in space.names)


@dataclass(frozen=True, eq=False)
class IterationSpace:
    """The rows of a (possibly nested) loop: one value per loop index per row.

    ``parent[r]`` is the row of the enclosing space that row ``r`` extends. A space built for
    a loop with no iterations is a *probe*: one row with the loop index at its start value, so
    that the body can still be checked; its index errors are not reported.
    """

    names: tuple[str, ...]
    values: dict[str, np.ndarray]
    size: int
    parent: np.ndarray | None = None
    probe: bool = False

    @classmethod
    def root(cls) -> IterationSpace:
        return cls((), {}, 1)

    def evaluate(self, expr: IntExpr) -> np.ndarray:
        """``expr`` over every row, always as an int64 array of length ``size``."""
        return np.broadcast_to(np.asarray(expr.evaluate(self), dtype=np.int64), (self.size,))

    def extend(self, name: str, start: IntExpr, stop: IntExpr, step: int) -> IterationSpace:
        """The rows of ``for name in range(start, stop, step)`` nested inside this space's rows."""
        first = self.evaluate(start)
        last = self.evaluate(stop)
        if step > 0:
            counts = np.maximum(0, (last - first + step - 1) // step)
        else:
            counts = np.maximum(0, (first - last - step - 1) // -step)
        total = int(counts.sum())
        if total > MAX_ITERATIONS:
            raise IterationLimit(total)
        if total == 0:
            row = np.zeros(1, dtype=np.int64)
            values = {k: v[row] for k, v in self.values.items()}
            values[name] = first[row]
            return IterationSpace((*self.names, name), values, 1, row, probe=True)
        parent = np.repeat(np.arange(self.size), counts)
        offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        values = {k: v[parent] for k, v in self.values.items()}
        values[name] = first[parent] + step * offset
        return IterationSpace((*self.names, name), values, total, parent, probe=self.probe)


class IterationLimit(Exception):
    """A loop nest has more than MAX_ITERATIONS rows."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total
