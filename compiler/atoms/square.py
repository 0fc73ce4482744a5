"""square(x): elementwise square. Convex quadratic.

Each square becomes a virtual coordinate (compiler/affine.py); the objective turns the
weighted virtual coordinates into Q. A convex nonnegative argument (pos(x), say) is
allowed: its epigraph variable stands in for it, since square increases on t >= 0.
"""

from optlayer.dsl.signatures import Signature, same_shape

from .. import data
from ._atom import Atom, by_sign, nonneg


def canonicalize(ctx, args, options, rows):
    return ctx.squares(ctx.affine(args[0], rows))


ATOM = Atom(
    Signature("square", ("x",), same_shape, "elementwise square"),
    "convex",
    canonicalize,
    lambda args, options: data.unary("square", args[0]),
    monotonicity=by_sign,
    sign=nonneg,
    quadratic=True,
)
