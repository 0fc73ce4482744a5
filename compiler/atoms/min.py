"""min(x): the smallest entry. Concave, piecewise linear, nondecreasing.

Hypograph: min(x) = s with s <= x (s a scalar).
"""

from optlayer.dsl.signatures import Signature, scalar

from .. import affine, data
from ._atom import Atom, sign_of_all


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    s = ctx.aux((), rows, "min")
    ctx.at_most_zero(affine.add(s, x, -1))
    return s


ATOM = Atom(
    Signature("min", ("x",), scalar, "smallest entry"),
    "concave",
    canonicalize,
    lambda args, options: data.reduce("min", args[0]),
    sign=sign_of_all,
)
