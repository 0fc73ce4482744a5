"""sum(x), sum(x, axis=0|1), sum(EXPR for i in range(...)): sums. Affine.

The generator form is a GeneratorSum node of the checked model, summed over iteration rows
by the canonicalizer; this atom is the sum over positions.
"""

from collections.abc import Sequence

from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from .. import affine, data
from ._atom import Atom, sign_of_all


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    (x,) = shapes
    axis = options.get("axis")
    if axis is None:
        return ()
    if not x:
        raise ShapeProblem("`axis=` needs a vector or a matrix, but x is a scalar", 0)
    if not -len(x) <= axis < len(x):
        axes = (
            "the only axis of a vector is 0"
            if len(x) == 1
            else "a matrix has axis 0 (down the rows) and 1 (along them)"
        )
        raise ShapeProblem(f"axis {axis} does not exist for {describe_shape(x)}", None, hint=axes)
    return tuple(size for i, size in enumerate(x) if i != axis % len(x))


def _axis(x_shape, options):
    axis = options.get("axis")
    return None if axis is None else axis % len(x_shape)


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    return affine.sum_positions(x, _axis(x.shape, options))


ATOM = Atom(
    Signature("sum", ("x",), _shape, "sum of all entries, or along an axis", keywords=("axis",), generator=True),
    "affine",
    canonicalize,
    lambda args, options: data.reduce("sum", args[0], _axis(args[0].shape, options)),
    sign=sign_of_all,
)
