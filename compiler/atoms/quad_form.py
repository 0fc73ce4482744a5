"""quad_form(x, P) = xᵀ P x for a vector x and a constant positive semidefinite P. Convex quadratic."""

from collections.abc import Sequence

from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from ._atom import Atom


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    x, p = shapes
    if len(x) != 1:
        raise ShapeProblem(f"x must be a vector, but it has {describe_shape(x)}", 0)
    if p != (x[0], x[0]):
        raise ShapeProblem(f"P must have shape ({x[0]}, {x[0]}) to match x, but it has {describe_shape(p)}", 1)
    return ()


ATOM = Atom(Signature("quad_form", ("x", "P"), _shape, "xᵀ P x with P constant and PSD", constant_arguments=(1,)))
