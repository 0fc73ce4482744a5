"""abs(x): elementwise absolute value. Convex, piecewise linear.

Epigraph: abs(x) = t with -t <= x <= t, t pushed down by the curvature rules.
"""

from optlayer.dsl.signatures import Signature, same_shape

from .. import affine, data
from ._atom import Atom, by_sign, nonneg


def canonicalize(ctx, args, options, rows):
    (x,) = (ctx.affine(a, rows) for a in args)
    t = ctx.aux(x.shape, rows, "abs")
    ctx.at_most_zero(affine.add(x, t, -1))
    ctx.at_most_zero(affine.add(affine.negate(x), t, -1))
    return t


ATOM = Atom(
    Signature("abs", ("x",), same_shape, "elementwise absolute value"),
    "convex",
    canonicalize,
    lambda args, options: data.unary("abs", args[0]),
    monotonicity=by_sign,
    sign=nonneg,
)
