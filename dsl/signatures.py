"""What the checker needs to know about a function: its arguments and its shape rule.

The language's functions (``sum``, ``quad_form``, ``norm1``, …) are defined in one place
each, in compiler/atoms/, together with their curvature and canonicalization; the checker
receives their signatures as a vocabulary. This module holds the signature type and the
shape rules several functions share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Shape = tuple[int, ...]


class ShapeProblem(Exception):
    """A shape rule's refusal: ``message`` says why; ``argument`` is the offending argument's position."""

    def __init__(self, message: str, argument: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.argument = argument
        self.hint = hint


ShapeRule = Callable[[Sequence[Shape], dict[str, int]], Shape]


@dataclass(frozen=True)
class Signature:
    """How a function is called and what shape it returns.

    ``arguments`` names the positional arguments; the last ``optional`` of them may be left
    out; ``variadic`` allows any number (at least len(arguments)). ``keywords`` are integer
    keyword options such as ``axis``. ``constant_arguments`` are positions that must not
    contain variables. ``generator`` allows the form ``f(EXPR for i in range(...))``.
    """

    name: str
    arguments: tuple[str, ...]
    shape: ShapeRule
    summary: str
    optional: int = 0
    variadic: bool = False
    keywords: tuple[str, ...] = ()
    constant_arguments: tuple[int, ...] = ()
    generator: bool = False

    def usage(self) -> str:
        """``quad_form(x, P)``: the call as documentation writes it."""
        names = list(self.arguments)
        if self.variadic:
            names.append("...")
        names += [f"{k}=..." for k in self.keywords]
        return f"{self.name}({', '.join(names)})"


def describe_shape(shape: Shape) -> str:
    """'a scalar', 'shape (3,)' or 'shape (2, 3)'."""
    if not shape:
        return "a scalar"
    return f"shape ({shape[0]},)" if len(shape) == 1 else f"shape {tuple(shape)}"


def broadcast(*shapes: Shape) -> Shape | None:
    """NumPy's broadcast of ``shapes``, or None when they do not broadcast."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(ndim):
        sizes = {s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def same_shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    """Elementwise functions of one argument: the result has the argument's shape."""
    return shapes[0]


def scalar(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    """Reductions (norms, sums of squares, max): the result is a scalar."""
    return ()


def broadcast_arguments(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    """Elementwise functions of several arguments: NumPy broadcasting."""
    result = broadcast(*shapes)
    if result is None:
        listed = ", ".join(describe_shape(s) for s in shapes)
        raise ShapeProblem(f"the arguments' shapes do not broadcast: {listed}")
    return result
