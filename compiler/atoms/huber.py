"""huber(x, M=1): elementwise Huber function, x² for |x| ≤ M and 2M|x| − M² beyond. Convex."""

from collections.abc import Sequence

from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from ._atom import Atom


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    if len(shapes) == 2 and shapes[1] != ():
        raise ShapeProblem(f"M must be a scalar, but it has {describe_shape(shapes[1])}", 1)
    return shapes[0]


ATOM = Atom(
    Signature(
        "huber", ("x", "M"), _shape, "elementwise Huber penalty with threshold M > 0", optional=1, constant_arguments=(1,)
    )
)
