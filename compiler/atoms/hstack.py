"""hstack(a, b, ...): concatenate vectors, or matrices side by side, as numpy.hstack. Affine."""

from collections.abc import Sequence

from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from .. import affine, data
from ._atom import Atom, sign_of_all


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    if all(len(s) <= 1 for s in shapes):
        return (sum(s[0] if s else 1 for s in shapes),)
    for i, s in enumerate(shapes):
        if len(s) != 2:
            raise ShapeProblem(
                f"cannot put {describe_shape(s)} beside matrices", i, hint="use only vectors or only matrices"
            )
        if s[0] != shapes[0][0]:
            raise ShapeProblem(
                f"all parts need {shapes[0][0]} rows like the first, but this one has {describe_shape(s)}", i
            )
    return (shapes[0][0], sum(s[1] for s in shapes))


def _as_parts(shapes: Sequence[Shape]) -> tuple[list[Shape], int]:
    if all(len(s) <= 1 for s in shapes):
        return [s if s else (1,) for s in shapes], 0
    return list(shapes), 1


def canonicalize(ctx, args, options, rows):
    part_shapes, axis = _as_parts([a.shape for a in args])
    parts = [affine.reshape(ctx.affine(a, rows), s) for a, s in zip(args, part_shapes)]
    return affine.concatenate(parts, axis, _shape([a.shape for a in args], options))


def _value(args, options):
    part_shapes, axis = _as_parts([a.shape for a in args])
    return data.concat([data.reshape(a, s) for a, s in zip(args, part_shapes)], axis)


ATOM = Atom(
    Signature("hstack", ("a",), _shape, "concatenate vectors, or matrices side by side", variadic=True),
    "affine",
    canonicalize,
    _value,
    sign=sign_of_all,
)
