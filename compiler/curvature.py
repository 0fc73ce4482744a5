"""Curvature and sign rules: which models are convex QPs, and why a refused one is not.

``info`` computes bottom-up what is known of an expression: its curvature (constant,
affine, convex, concave, or none of these), its sign, whether it contains a quadratic part,
and for constant matrices whether they are known to be positive semidefinite. ``require``
walks top-down from a place that needs a curvature (the objective, a side of a constraint)
to the first subexpression that breaks it, and raises a ConvexityError there that says why
and what would fix it. Each function's own rules live in its atom (compiler/atoms/).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from enum import Enum

from optlayer.dsl import model as m
from optlayer.dsl.expressions import snippet

from .atoms import ATOMS
from .errors import ConvexityError


class Curvature(Enum):
    CONSTANT = "constant"
    AFFINE = "affine"
    CONVEX = "convex"
    CONCAVE = "concave"
    UNKNOWN = "neither convex nor concave"

    def flipped(self) -> Curvature:
        return {Curvature.CONVEX: Curvature.CONCAVE, Curvature.CONCAVE: Curvature.CONVEX}.get(self, self)

    def satisfies(self, wanted: Curvature) -> bool:
        if self is Curvature.CONSTANT:
            return True
        if self is Curvature.AFFINE:
            return wanted is not Curvature.CONSTANT
        return self is wanted


def join(curvatures) -> Curvature:
    """The curvature of a sum."""
    kinds = {c for c in curvatures if c is not Curvature.CONSTANT}
    if not kinds:
        return Curvature.CONSTANT
    if Curvature.UNKNOWN in kinds or {Curvature.CONVEX, Curvature.CONCAVE} <= kinds:
        return Curvature.UNKNOWN
    kinds.discard(Curvature.AFFINE)
    return kinds.pop() if kinds else Curvature.AFFINE


@dataclass(frozen=True)
class Info:
    curvature: Curvature
    nonneg: bool = False
    nonpos: bool = False
    quadratic: bool = False
    psd: bool = False

    @property
    def is_constant(self) -> bool:
        return self.curvature is Curvature.CONSTANT

    @property
    def is_affine(self) -> bool:
        return self.curvature in (Curvature.CONSTANT, Curvature.AFFINE)

    def negated(self) -> Info:
        return Info(self.curvature.flipped(), self.nonpos, self.nonneg, self.quadratic)


def _sign_of_value(value: float) -> tuple[bool, bool]:
    return value >= 0, value <= 0


_MEMO: weakref.WeakKeyDictionary[m.TExpr, Info] = weakref.WeakKeyDictionary()


def info(node: m.TExpr) -> Info:
    """What is known of ``node``; memoized per node (typed nodes are immutable)."""
    found = _MEMO.get(node)
    if found is None:
        found = _MEMO[node] = _info(node)
    return found


def _info(node: m.TExpr) -> Info:
    if isinstance(node, m.Constant):
        return Info(Curvature.CONSTANT, *_sign_of_value(node.value))
    if isinstance(node, m.IndexValue):
        return Info(Curvature.CONSTANT)
    if isinstance(node, m.DataRef):
        attrs = node.data.attributes
        return Info(Curvature.CONSTANT, "nonneg" in attrs, "nonpos" in attrs, psd="psd" in attrs)
    if isinstance(node, m.VariableRef):
        attrs = node.variable.attributes
        return Info(Curvature.AFFINE, "nonneg" in attrs, "nonpos" in attrs)
    if isinstance(node, m.LetRef):
        return info(node.value)
    if isinstance(node, m.Negate):
        return info(node.operand).negated()
    if isinstance(node, m.Sum):
        parts = [info(t) if s > 0 else info(t).negated() for t, s in zip(node.terms, node.signs)]
        return Info(
            join(p.curvature for p in parts),
            all(p.nonneg for p in parts),
            all(p.nonpos for p in parts),
            any(p.quadratic for p in parts),
            all(p.psd for p in parts),
        )
    if isinstance(node, m.Binary):
        return _binary_info(node)
    if isinstance(node, m.Power):
        return _power_info(node)
    if isinstance(node, m.Transpose):
        inner = info(node.operand)
        return Info(inner.curvature, inner.nonneg, inner.nonpos, inner.quadratic, inner.psd)
    if isinstance(node, m.Index):
        inner = info(node.operand)
        return Info(inner.curvature, inner.nonneg, inner.nonpos, inner.quadratic)
    if isinstance(node, m.GeneratorSum):
        inner = info(node.body)
        return Info(inner.curvature, inner.nonneg, inner.nonpos, inner.quadratic)
    if isinstance(node, m.Call):
        return _call_info(node)
    raise AssertionError(f"no curvature rule for {type(node).__name__}")


def _binary_info(node: m.Binary) -> Info:
    left, right = info(node.left), info(node.right)
    if node.op == "/":
        right = Info(Curvature.CONSTANT, right.nonneg, right.nonpos)
    if not left.is_constant and not right.is_constant:
        return Info(Curvature.UNKNOWN)
    constant, other = (left, right) if left.is_constant else (right, left)
    nonneg = (left.nonneg and right.nonneg) or (left.nonpos and right.nonpos)
    nonpos = (left.nonneg and right.nonpos) or (left.nonpos and right.nonneg)
    if other.is_constant:
        return Info(Curvature.CONSTANT, nonneg, nonpos, psd=_product_is_psd(node, left, right))
    curvature = other.curvature
    if curvature in (Curvature.CONVEX, Curvature.CONCAVE):
        if constant.nonneg:
            pass
        elif constant.nonpos:
            curvature = curvature.flipped()
        else:
            curvature = Curvature.UNKNOWN
    return Info(curvature, nonneg, nonpos, other.quadratic)


def _product_is_psd(node: m.Binary, left: Info, right: Info) -> bool:
    """A Gram matrix, or a PSD matrix scaled by a nonnegative scalar."""
    if node.op == "@":
        return _is_gram(node)
    if node.op == "/":
        return left.psd and right.nonneg and node.right.shape == ()
    scalar, matrix = (left, right) if node.left.shape == () else (right, left)
    return matrix.psd and scalar.nonneg and (node.left.shape == () or node.right.shape == ())


def _is_gram(node: m.Binary) -> bool:
    """``F.T @ F`` or ``F @ F.T``: positive semidefinite by construction."""
    left, right = node.left, node.right
    if isinstance(left, m.Transpose) and structure(left.operand) == structure(right):
        return len(right.shape) == 2 or len(right.shape) == 1
    if isinstance(right, m.Transpose) and structure(right.operand) == structure(left):
        return len(left.shape) == 2
    return False


def _power_info(node: m.Power) -> Info:
    base = info(node.base)
    if base.is_constant:
        even = node.exponent == int(node.exponent) and int(node.exponent) % 2 == 0
        return Info(Curvature.CONSTANT, base.nonneg or even, False)
    if node.exponent == 1:
        return base
    if node.exponent == 2:
        return atom_info(ATOMS["square"], [base])
    return Info(Curvature.UNKNOWN)


def atom_info(atom, arguments: list[Info]) -> Info:
    """The info of an atom applied to arguments, by the atom's curvature and monotonicity."""
    curvature = Curvature(atom.curvature)
    for position, argument in enumerate(arguments):
        if position in atom.signature.constant_arguments or argument.is_constant:
            continue
        if argument.quadratic and not atom.linear:
            return Info(Curvature.UNKNOWN)
        if atom.linear:
            continue
        needed = _needed_curvature(atom, position, argument, curvature)
        if not argument.curvature.satisfies(needed):
            return Info(Curvature.UNKNOWN)
    if atom.linear:
        curvature = join(a.curvature for i, a in enumerate(arguments) if i not in atom.signature.constant_arguments)
    if all(a.is_constant for a in arguments):
        curvature = Curvature.CONSTANT
    nonneg, nonpos = atom.sign(arguments)
    quadratic = atom.quadratic or any(a.quadratic for a in arguments)
    return Info(curvature, nonneg, nonpos, quadratic and curvature is not Curvature.CONSTANT, psd=atom.psd(arguments))


def _needed_curvature(atom, position: int, argument: Info, curvature: Curvature) -> Curvature:
    direction = atom.monotonicity(position, argument)
    if direction == "increasing":
        return curvature
    if direction == "decreasing":
        return curvature.flipped()
    return Curvature.AFFINE


def _call_info(node: m.Call) -> Info:
    atom = ATOMS[node.function]
    arguments = [info(a) for a in node.args]
    atom.check(node, arguments)
    return atom_info(atom, arguments)


def structure(node: m.TExpr) -> tuple:
    """A key equal for two expressions exactly when they are written the same way."""
    if isinstance(node, m.LetRef):
        return structure(node.value)
    if isinstance(node, m.DataRef):
        return ("data", node.data.name)
    if isinstance(node, m.VariableRef):
        return ("variable", node.variable.name)
    if isinstance(node, m.Constant):
        return ("constant", node.value)
    fields = [type(node).__name__, node.shape]
    for name in ("op", "function", "exponent", "options", "signs"):
        if hasattr(node, name):
            fields.append(getattr(node, name))
    if isinstance(node, (m.Index, m.IndexValue, m.GeneratorSum)):
        fields.append(id(node))
    return tuple(fields) + tuple(structure(c) for c in node.children())


# ---- requirements, with located reasons ---------------------------------------------------------


def require(node: m.TExpr, wanted: Curvature, where: str, allow_quadratic: bool) -> None:
    """Raise a ConvexityError at the first part of ``node`` that keeps it from being ``wanted``.

    ``where`` says what needs it (for instance "the objective of a minimization");
    ``allow_quadratic`` is false in constraints, where a QP has no quadratic terms.
    """
    found = info(node)
    if found.curvature.satisfies(wanted) and (allow_quadratic or not found.quadratic):
        return
    _explain(node, wanted, where, allow_quadratic)
    raise ConvexityError(  # pragma: no cover - _explain always finds the culprit
        f"{where} must be {wanted.value}, but `{snippet(node)}` is {found.curvature.value}", node.span
    )


def _explain(node: m.TExpr, wanted: Curvature, where: str, allow_quadratic: bool) -> None:
    found = info(node)
    if isinstance(node, m.LetRef):
        _explain(node.value, wanted, where, allow_quadratic)
    if isinstance(node, m.Negate):
        _explain(node.operand, wanted.flipped(), where, allow_quadratic)
    if isinstance(node, m.Sum):
        for term, sign in zip(node.terms, node.signs):
            want = wanted if sign > 0 else wanted.flipped()
            part = info(term)
            if not part.curvature.satisfies(want) or (part.quadratic and not allow_quadratic):
                _explain(term, want, where, allow_quadratic)
    if isinstance(node, (m.Index, m.Transpose)):
        _explain(node.operand, wanted, where, allow_quadratic)
    if isinstance(node, m.GeneratorSum):
        _explain(node.body, wanted, where, allow_quadratic)
    if isinstance(node, m.Binary):
        _explain_binary(node, wanted, where, allow_quadratic)
    if isinstance(node, m.Power):
        _explain_power(node, wanted, where, allow_quadratic)
    if isinstance(node, m.Call):
        _explain_call(node, wanted, where, allow_quadratic)
    if found.quadratic and not allow_quadratic:
        raise ConvexityError(
            f"`{snippet(node)}` is quadratic, and {where} of a QP cannot contain quadratic terms",
            node.span,
            hint="a quadratic constraint makes a QCQP; move the term into the objective with a weight",
        )
    raise ConvexityError(
        f"{where} must be {_wanted_words(wanted)}, but `{snippet(node)}` is {_curvature_words(found)}",
        node.span,
        hint=_curvature_hint(wanted, found),
    )


def _explain_binary(node: m.Binary, wanted: Curvature, where: str, allow_quadratic: bool) -> None:
    left, right = info(node.left), info(node.right)
    if node.op != "/" and not left.is_constant and not right.is_constant:
        raise ConvexityError(
            f"`{snippet(node)}` multiplies two expressions that contain variables",
            node.span,
            hint="a QP has products of variables only inside square(...), sum_squares(...) and quad_form(...)",
        )
    constant_node, other_node = (node.left, node.right) if left.is_constant else (node.right, node.left)
    constant, other = info(constant_node), info(other_node)
    if node.op == "/":
        constant_node, other_node, constant, other = node.right, node.left, right, left
    if other.curvature in (Curvature.CONVEX, Curvature.CONCAVE) and not (constant.nonneg or constant.nonpos):
        name = snippet(constant_node)
        fix = f"declare `{name} nonneg`" if isinstance(constant_node, m.DataRef) else f"make the sign of `{name}` known"
        raise ConvexityError(
            f"`{snippet(node)}` is not known to be convex or concave: the sign of `{name}` is unknown",
            node.span,
            hint=f"{fix} (or `nonpos`), so that `{snippet(other_node)}` keeps its curvature",
        )
    flip = constant.nonpos and not constant.nonneg
    _explain(other_node, wanted.flipped() if flip else wanted, where, allow_quadratic)


def _explain_power(node: m.Power, wanted: Curvature, where: str, allow_quadratic: bool) -> None:
    if node.exponent not in (0, 1, 2) and not info(node.base).is_constant:
        raise ConvexityError(
            f"`{snippet(node)}` is not a QP term: only `** 1` and `** 2` of an expression with variables are",
            node.span,
            hint="use square(...) for a square",
        )
    if node.exponent == 2:
        _explain_arguments(ATOMS["square"], [node.base], node, wanted, where)
    _explain(node.base, wanted, where, allow_quadratic)


def _explain_call(node: m.Call, wanted: Curvature, where: str, allow_quadratic: bool) -> None:
    atom = ATOMS[node.function]
    _explain_arguments(atom, list(node.args), node, wanted, where)
    if atom.linear:
        for arg in node.args:
            part = info(arg)
            if not part.curvature.satisfies(wanted) or (part.quadratic and not allow_quadratic):
                _explain(arg, wanted, where, allow_quadratic)


def _explain_arguments(atom, args: list[m.TExpr], node: m.TExpr, wanted: Curvature, where: str) -> None:
    """Refusals that come from an atom's rules for its arguments."""
    curvature = Curvature(atom.curvature)
    if atom.linear:
        return
    for position, arg in enumerate(args):
        argument = info(arg)
        if position in atom.signature.constant_arguments or argument.is_constant:
            continue
        if argument.quadratic:
            raise ConvexityError(
                f"`{atom.name}` of the quadratic expression `{snippet(arg)}` is not a QP",
                arg.span,
                hint="a QP combines quadratic terms only by adding them with nonnegative weights",
            )
        needed = _needed_curvature(atom, position, argument, curvature)
        if not argument.curvature.satisfies(needed):
            raise ConvexityError(
                f"`{atom.name}` needs {_argument_words(needed)} argument here, but `{snippet(arg)}` is "
                f"{_curvature_words(argument)}",
                arg.span,
                hint=f"`{atom.name}` is {atom.curvature} and {atom.monotonicity(position, argument)}"
                if needed is not Curvature.AFFINE
                else f"`{atom.name}` takes an affine argument",
            )
    found = info(node)
    if not found.curvature.satisfies(wanted):
        raise ConvexityError(
            f"{where} must be {_wanted_words(wanted)}, but `{snippet(node)}` is {_curvature_words(found)}",
            node.span,
            hint=_curvature_hint(wanted, found),
        )


def _wanted_words(wanted: Curvature) -> str:
    return "affine" if wanted in (Curvature.AFFINE, Curvature.CONSTANT) else wanted.value


def _argument_words(wanted: Curvature) -> str:
    return "an affine" if wanted is Curvature.AFFINE else f"a {wanted.value}"


def _curvature_words(found: Info) -> str:
    if found.curvature is Curvature.AFFINE:
        return "affine"
    return found.curvature.value


def _curvature_hint(wanted: Curvature, found: Info) -> str:
    if wanted is Curvature.AFFINE:
        return "both sides of `==` must be affine; write a convex function as `f(x) <= ...`"
    if found.curvature.flipped() is wanted:
        return f"a {found.curvature.value} term needs the opposite sign or the other side of the comparison"
    return "see the curvature rules in docs/language.md"
