"""max(x): the largest entry. Convex, piecewise linear, nondecreasing.

Epigraph: max(x) = s with x <= s (s a scalar).
"""

from optlayer.dsl.signatures import Signature, scalar

from .. import affine, data
from ._atom import Atom, sign_of_all


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    s = ctx.aux((), rows, "max")
    ctx.at_most_zero(affine.add(x, s, -1))
    return s


ATOM = Atom(
    Signature("max", ("x",), scalar, "largest entry"),
    "convex",
    canonicalize,
    lambda args, options: data.reduce("max", args[0]),
    sign=sign_of_all,
)
