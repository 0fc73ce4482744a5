"""minimum(x, y, ...): elementwise minimum, with broadcasting. Concave, piecewise linear.

Hypograph: minimum(x, y) = t with t <= x, t <= y.
"""

from functools import reduce

import numpy as np

from optlayer.dsl.signatures import Signature, broadcast_arguments

from .. import affine, data
from ._atom import Atom


def canonicalize(ctx, args, options, rows):
    parts = [ctx.affine(a, rows) for a in args]
    shape = tuple(np.broadcast_shapes(*(p.shape for p in parts)))
    t = ctx.aux(shape, rows, "minimum")
    for part in parts:
        ctx.at_most_zero(affine.add(t, part, -1))
    return t


def _sign(arguments):
    return all(a.nonneg for a in arguments), any(a.nonpos for a in arguments)


ATOM = Atom(
    Signature("minimum", ("x", "y"), broadcast_arguments, "elementwise minimum", variadic=True),
    "concave",
    canonicalize,
    lambda args, options: reduce(lambda a, b: data.binary("minimum", a, b), args),
    sign=_sign,
)
