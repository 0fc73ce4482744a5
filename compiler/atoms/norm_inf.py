"""norm_inf(x): the largest absolute value of all entries. Convex, piecewise linear.

Epigraph: norm_inf(x) = s with -s <= x <= s (s a scalar).
"""

from optlayer.dsl.signatures import Signature, scalar

from .. import affine, data
from ._atom import Atom, by_sign, nonneg


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    s = ctx.aux((), rows, "norm_inf")
    ctx.at_most_zero(affine.add(x, s, -1))
    ctx.at_most_zero(affine.add(affine.negate(x), s, -1))
    return s


ATOM = Atom(
    Signature("norm_inf", ("x",), scalar, "largest absolute value of all entries"),
    "convex",
    canonicalize,
    lambda args, options: data.reduce("max", data.unary("abs", args[0])),
    monotonicity=by_sign,
    sign=nonneg,
)
