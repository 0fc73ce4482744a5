"""norm1(x): the sum of the absolute values of all entries. Convex, piecewise linear.

Epigraph: norm1(x) = sum(t) with -t <= x <= t.
"""

from optlayer.dsl.signatures import Signature, scalar

from .. import affine, data
from ._atom import Atom, by_sign, nonneg


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    t = ctx.aux(x.shape, rows, "norm1")
    ctx.at_most_zero(affine.add(x, t, -1))
    ctx.at_most_zero(affine.add(affine.negate(x), t, -1))
    return affine.sum_positions(t, None)


ATOM = Atom(
    Signature("norm1", ("x",), scalar, "sum of the absolute values of all entries"),
    "convex",
    canonicalize,
    lambda args, options: data.reduce("sum", data.unary("abs", args[0])),
    monotonicity=by_sign,
    sign=nonneg,
)
