"""neg(x) = max(-x, 0) elementwise. Convex, piecewise linear, nonincreasing.

Epigraph: neg(x) = t with -x <= t, 0 <= t.
"""

from optlayer.dsl.signatures import Signature, same_shape

from .. import affine, data
from ._atom import Atom, decreasing, nonneg


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    t = ctx.aux(x.shape, rows, "neg")
    ctx.at_most_zero(affine.add(affine.negate(x), t, -1))
    ctx.at_most_zero(affine.negate(t))
    return t


ATOM = Atom(
    Signature("neg", ("x",), same_shape, "elementwise negative part max(-x, 0)"),
    "convex",
    canonicalize,
    lambda args, options: data.unary("negpart", args[0]),
    monotonicity=decreasing,
    sign=nonneg,
)
