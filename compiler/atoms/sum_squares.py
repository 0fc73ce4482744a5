"""sum_squares(x): the sum of the squares of all entries. Convex quadratic."""

from optlayer.dsl.signatures import Signature, scalar

from .. import affine, data
from ._atom import Atom, by_sign, nonneg


def canonicalize(ctx, args, options, rows):
    return affine.sum_positions(ctx.squares(ctx.affine(args[0], rows)), None)


ATOM = Atom(
    Signature("sum_squares", ("x",), scalar, "sum of the squares of all entries"),
    "convex",
    canonicalize,
    lambda args, options: data.reduce("sum", data.unary("square", args[0])),
    monotonicity=by_sign,
    sign=nonneg,
    quadratic=True,
)
