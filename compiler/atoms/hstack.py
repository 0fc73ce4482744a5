"""hstack(a, b, ...): concatenate vectors, or matrices side by side, as numpy.hstack. Affine."""

from collections.abc import Sequence

from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from ._atom import Atom


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    if all(len(s) <= 1 for s in shapes):
        return (sum(s[0] if s else 1 for s in shapes),)
    for i, s in enumerate(shapes):
        if len(s) != 2:
            raise ShapeProblem(f"cannot put {describe_shape(s)} beside matrices", i, hint="use only vectors or only matrices")
        if s[0] != shapes[0][0]:
            raise ShapeProblem(f"all parts need {shapes[0][0]} rows like the first, but this one has {describe_shape(s)}", i)
    return (shapes[0][0], sum(s[1] for s in shapes))


ATOM = Atom(Signature("hstack", ("a",), _shape, "concatenate vectors, or matrices side by side", variadic=True))
