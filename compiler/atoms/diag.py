"""diag(v): the diagonal matrix of a vector, or the diagonal of a square matrix. Affine."""

from collections.abc import Sequence

from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from .. import affine, data
from ._atom import Atom


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    (x,) = shapes
    if len(x) == 1:
        return (x[0], x[0])
    if len(x) == 2 and x[0] == x[1]:
        return (x[0],)
    raise ShapeProblem(f"needs a vector or a square matrix, but the argument has {describe_shape(x)}", 0)


def _sign(arguments):
    return arguments[0].nonneg, arguments[0].nonpos


ATOM = Atom(
    Signature("diag", ("v",), _shape, "diagonal matrix of a vector, or diagonal of a square matrix"),
    "affine",
    lambda ctx, args, options, rows: affine.diag(ctx.affine(args[0], rows)),
    lambda args, options: data.diag(args[0]),
    sign=_sign,
    psd=lambda arguments: arguments[0].nonneg,
)
