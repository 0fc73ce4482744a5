"""maximum(x, y, ...): elementwise maximum, with broadcasting. Convex, piecewise linear.

Epigraph: maximum(x, y) = t with x <= t, y <= t.
"""

from functools import reduce

import numpy as np

from optlayer.dsl.signatures import Signature, broadcast_arguments

from .. import affine, data
from ._atom import Atom


def canonicalize(ctx, args, options, rows):
    parts = [ctx.affine(a, rows) for a in args]
    shape = tuple(np.broadcast_shapes(*(p.shape for p in parts)))
    t = ctx.aux(shape, rows, "maximum")
    for part in parts:
        ctx.at_most_zero(affine.add(part, t, -1))
    return t


def _sign(arguments):
    return any(a.nonneg for a in arguments), all(a.nonpos for a in arguments)


ATOM = Atom(
    Signature("maximum", ("x", "y"), broadcast_arguments, "elementwise maximum", variadic=True),
    "convex",
    canonicalize,
    lambda args, options: reduce(lambda a, b: data.binary("maximum", a, b), args),
    sign=_sign,
)
