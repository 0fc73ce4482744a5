"""quad_form(x, P) = xᵀ P x for a vector x and a constant positive semidefinite P. Convex quadratic.

P must be known to be PSD: a `psd` parameter or learnable, a Gram matrix F.T @ F, diag of a
nonnegative vector, or sums and nonnegative multiples of these.
"""

from collections.abc import Sequence

from optlayer.dsl import model as m
from optlayer.dsl.expressions import snippet
from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from .. import data
from ..errors import ConvexityError
from ._atom import Atom, nonneg


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    x, p = shapes
    if len(x) != 1:
        raise ShapeProblem(f"x must be a vector, but it has {describe_shape(x)}", 0)
    if p != (x[0], x[0]):
        raise ShapeProblem(f"P must have shape ({x[0]}, {x[0]}) to match x, but it has {describe_shape(p)}", 1)
    return ()


def _check(call, arguments) -> None:
    if not arguments[1].psd:
        matrix = call.args[1]
        name = snippet(matrix)
        if isinstance(matrix, m.DataRef):
            hint = f"declare `{name} psd`, or write the matrix as `F.T @ F`"
        else:
            hint = "build it from known PSD parts: `psd` data, `F.T @ F`, diag(nonneg vector), sums and nonnegative multiples"
        raise ConvexityError(
            f"quad_form needs a positive semidefinite matrix, but `{name}` is not known to be one",
            matrix.span,
            hint=hint,
        )


def canonicalize(ctx, args, options, rows):
    return ctx.quadratic_form(ctx.affine(args[0], rows), args[1])


def _value(args, options):
    x, matrix = args
    return data.matmul(x, data.matmul(matrix, x))


ATOM = Atom(
    Signature("quad_form", ("x", "P"), _shape, "xᵀ P x with P constant and PSD", constant_arguments=(1,)),
    "convex",
    canonicalize,
    _value,
    monotonicity=lambda position, argument: "nonmonotone",
    sign=nonneg,
    quadratic=True,
    check=_check,
)
