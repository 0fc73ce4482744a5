"""pos(x) = max(x, 0) elementwise. Convex, piecewise linear, nondecreasing.

Epigraph: pos(x) = t with x <= t, 0 <= t.
"""

from optlayer.dsl.signatures import Signature, same_shape

from .. import affine, data
from ._atom import Atom, nonneg


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    t = ctx.aux(x.shape, rows, "pos")
    ctx.at_most_zero(affine.add(x, t, -1))
    ctx.at_most_zero(affine.negate(t))
    return t


ATOM = Atom(
    Signature("pos", ("x",), same_shape, "elementwise positive part max(x, 0)"),
    "convex",
    canonicalize,
    lambda args, options: data.unary("pos", args[0]),
    sign=nonneg,
)
