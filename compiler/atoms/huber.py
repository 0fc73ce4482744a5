"""huber(x, M=1): elementwise Huber function, x² for |x| ≤ M and 2M|x| − M² beyond. Convex.

QP form: huber(x) = min over s of s² + 2M·|x − s|, so huber(x) = square(s) + 2M·t with
-t <= x - s <= t, for auxiliary s and t.
"""

from collections.abc import Sequence

from optlayer.dsl import model as m
from optlayer.dsl.expressions import snippet
from optlayer.dsl.signatures import Shape, ShapeProblem, Signature, describe_shape

from .. import affine, data
from ..errors import ConvexityError
from ._atom import Atom, by_sign, nonneg


def _shape(shapes: Sequence[Shape], options: dict[str, int]) -> Shape:
    if len(shapes) == 2 and shapes[1] != ():
        raise ShapeProblem(f"M must be a scalar, but it has {describe_shape(shapes[1])}", 1)
    return shapes[0]


def _check(call, arguments) -> None:
    if len(call.args) < 2:
        return
    threshold = call.args[1]
    if isinstance(threshold, m.Constant) and threshold.value <= 0:
        raise ConvexityError("huber's threshold M must be positive", threshold.span)
    if not arguments[1].nonneg:
        raise ConvexityError(
            f"huber's threshold M must be nonnegative, but the sign of `{snippet(threshold)}` is unknown",
            threshold.span,
            hint=f"declare `{snippet(threshold)} nonneg`",
        )


def _threshold(args) -> data.Data:
    return args[1] if len(args) > 1 else data.literal(1.0)


def canonicalize(ctx, args, options, rows):
    x = ctx.affine(args[0], rows)
    s = ctx.aux(x.shape, rows, "huber (quadratic part)")
    t = ctx.aux(x.shape, rows, "huber (linear part)")
    gap = affine.add(x, s, -1)
    ctx.at_most_zero(affine.add(gap, t, -1))
    ctx.at_most_zero(affine.add(affine.negate(gap), t, -1))
    linear = affine.scale(t, data.mul(data.literal(2.0), _threshold(args)))
    return affine.add(ctx.squares(s), linear)


def _value(args, options):
    threshold = _threshold(args)
    template = "torch.where({0}.abs() <= {1}, {0}.square(), 2 * {1} * {0}.abs() - {1} ** 2)"
    return data.elementwise("huber", [args[0], threshold], template)


ATOM = Atom(
    Signature(
        "huber",
        ("x", "M"),
        _shape,
        "elementwise Huber penalty with threshold M > 0",
        optional=1,
        constant_arguments=(1,),
    ),
    "convex",
    canonicalize,
    _value,
    monotonicity=by_sign,
    sign=nonneg,
    quadratic=True,
    check=_check,
)
