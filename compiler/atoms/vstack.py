"""vstack(a, b, ...): stack rows, as numpy.vstack (vectors become rows). Affine."""

from collections.abc import Sequence

from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from .. import affine, data
from ._atom import Atom, sign_of_all


def as_rows(shape: Shape) -> Shape:
    """numpy.atleast_2d: a scalar is 1×1, a vector of n is 1×n."""
    return (1,) * (2 - len(shape)) + tuple(shape)


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    blocks = [as_rows(s) for s in shapes]
    for i, block in enumerate(blocks):
        if block[1] != blocks[0][1]:
            raise ShapeProblem(
                f"all parts need {blocks[0][1]} columns like the first, but this one has {describe_shape(shapes[i])}", i
            )
    return (sum(b[0] for b in blocks), blocks[0][1])


def canonicalize(ctx, args, options, rows):
    parts = [affine.reshape(ctx.affine(a, rows), as_rows(a.shape)) for a in args]
    return affine.concatenate(parts, 0, _shape([a.shape for a in args], options))


def _value(args, options):
    return data.concat([data.reshape(a, as_rows(a.shape)) for a in args], 0)


ATOM = Atom(
    Signature("vstack", ("a",), _shape, "stack vectors or matrices as rows", variadic=True),
    "affine",
    canonicalize,
    _value,
    sign=sign_of_all,
)
