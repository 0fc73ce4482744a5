"""Declarations: sizes, attributes and default values of parameters, learnables and variables."""

from __future__ import annotations

from . import ast
from .errors import DeclarationError, did_you_mean
from .expressions import Typer
from .model import Init
from .signatures import Shape

MAX_SIZE = 10_000_000
"""Largest size of one axis (and largest dimension value)."""

DATA_ATTRIBUTES = ("nonneg", "nonpos", "symmetric", "psd")
VARIABLE_ATTRIBUTES = ("nonneg", "nonpos")
_DATA_INITS = ("zeros", "ones", "eye")
_LEARNABLE_INITS = ("normal", "uniform")


def declared_shape(typer: Typer, sizes: tuple[ast.Expr, ...]) -> Shape:
    """The concrete shape of a declaration: at most two sizes, each at least 1."""
    if len(sizes) > 2:
        raise DeclarationError(
            f"at most two sizes are allowed, but {len(sizes)} are given",
            sizes[2].span,
            hint="declare a scalar, a vector [n] or a matrix [m, n]",
        )
    shape = []
    for size in sizes:
        value = typer.integer(size, "a size", loop_indices=False).constant
        if value < 1:
            raise DeclarationError(f"a size must be at least 1, but this one is {value}", size.span)
        if value > MAX_SIZE:
            raise DeclarationError(f"a size must be at most {MAX_SIZE:,}, but this one is {value:,}", size.span)
        shape.append(value)
    return tuple(shape)


def declared_attributes(
    names: tuple[ast.Name, ...], allowed: tuple[str, ...], shape: Shape, what: str
) -> frozenset[str]:
    """Attributes, checked for spelling, repetition, conflicts and the shapes they need."""
    seen: dict[str, ast.Name] = {}
    for name in names:
        if name.id not in allowed:
            if what == "variable" and name.id in ("psd", "symmetric"):
                raise DeclarationError(
                    f"a variable cannot be declared `{name.id}`",
                    name.span,
                    hint="a semidefinite variable is not a QP; for symmetry add the constraint `X == X.T`"
                    if name.id == "symmetric"
                    else "a semidefinite constraint is not a QP",
                )
            listed = ", ".join(f"`{a}`" for a in allowed)
            raise DeclarationError(
                f"unknown attribute `{name.id}` for a {what}",
                name.span,
                hint=did_you_mean(name.id, allowed) or f"attributes of a {what}: {listed}",
            )
        if name.id in seen:
            raise DeclarationError(f"attribute `{name.id}` is given twice", name.span)
        seen[name.id] = name
    if "nonneg" in seen and "nonpos" in seen:
        raise DeclarationError(
            "`nonneg` and `nonpos` together allow only zero", seen["nonpos"].span, hint="keep one of them"
        )
    if "psd" in seen and "nonpos" in seen:
        raise DeclarationError(
            "`psd` and `nonpos` together allow only zero", seen["nonpos"].span, hint="keep one of them"
        )
    for attribute in ("symmetric", "psd"):
        if attribute in seen and (len(shape) != 2 or shape[0] != shape[1]):
            raise DeclarationError(
                f"`{attribute}` needs a square matrix, but this {what} has shape {shape or '()'}",
                seen[attribute].span,
            )
    return frozenset(seen)


def declared_init(node: ast.Expr | None, kind: str, shape: Shape, attributes: frozenset[str]) -> Init | None:
    """A parameter's default or a learnable's initialization, checked against its attributes."""
    if node is None:
        return None
    init = _init_form(node, kind)
    _check_init_shape(init, shape)
    _check_init_sign(init, attributes, kind)
    return init


def _init_form(node: ast.Expr, kind: str) -> Init:
    words = _DATA_INITS + (_LEARNABLE_INITS if kind == "learnable" else ())
    accepted = "a number, " + ", ".join(f"`{w}`" for w in _DATA_INITS)
    if kind == "learnable":
        accepted += ", `normal(STD)` or `uniform(LO, HI)`"
    value = _literal(node)
    if value is not None:
        return Init("constant", (value,), node.span)
    if isinstance(node, ast.Name):
        if node.id in _DATA_INITS:
            return Init(node.id, (), node.span)
        if node.id in _LEARNABLE_INITS:
            raise DeclarationError(
                f"`{node.id}` needs arguments" if kind == "learnable" else f"`{node.id}` initializes learnables only",
                node.span,
                hint="normal(STD) or uniform(LO, HI)" if kind == "learnable" else f"a default is {accepted}",
            )
    if isinstance(node, ast.Call) and node.func.id in _LEARNABLE_INITS and kind == "learnable":
        return _random_init(node)
    name = node.func.id if isinstance(node, ast.Call) else node.id if isinstance(node, ast.Name) else None
    hint = (
        did_you_mean(name, words) if name else None
    ) or f"a {'default' if kind == 'parameter' else 'value'} is {accepted}"
    what = "a parameter's default" if kind == "parameter" else "a learnable's initial value"
    raise DeclarationError(f"{what} must be a number or one of the forms below", node.span, hint=hint)


def _random_init(node: ast.Call) -> Init:
    count = 1 if node.func.id == "normal" else 2
    usage = "normal(STD)" if count == 1 else "uniform(LO, HI)"
    if node.keywords or node.generator or len(node.args) != count:
        raise DeclarationError(
            f"`{node.func.id}` takes {count} number{'s' if count > 1 else ''}", node.span, hint=usage
        )
    args = tuple(_literal(arg) for arg in node.args)
    for arg, value in zip(node.args, args):
        if value is None:
            raise DeclarationError("expected a number", arg.span, hint=usage)
    if node.func.id == "normal" and args[0] <= 0:
        raise DeclarationError("the standard deviation must be positive", node.args[0].span)
    if node.func.id == "uniform" and args[0] >= args[1]:
        raise DeclarationError("`uniform(LO, HI)` needs LO < HI", node.span)
    return Init(node.func.id, args, node.span)


def _literal(node: ast.Expr) -> float | None:
    """The value of a numeric literal, possibly with a sign, else None."""
    if isinstance(node, ast.Number):
        return node.value
    if isinstance(node, ast.Unary) and isinstance(node.operand, ast.Number):
        return node.operand.value if node.op == "+" else -node.operand.value
    return None


def _check_init_shape(init: Init, shape: Shape) -> None:
    if init.kind == "eye" and len(shape) == 2 and shape[0] != shape[1]:
        raise DeclarationError(f"`eye` needs a square matrix, but the shape is {shape}", init.span)
    if init.kind == "eye" and len(shape) == 1:
        raise DeclarationError("`eye` needs a square matrix, but this is a vector", init.span, hint="use `ones`")


def _check_init_sign(init: Init, attributes: frozenset[str], kind: str) -> None:
    low, high = _init_range(init)
    if "nonneg" in attributes and low < 0:
        raise DeclarationError(
            "this value can be negative, but the declaration says `nonneg`", init.span, hint=_sign_hint(init, "nonneg")
        )
    if "nonpos" in attributes and high > 0:
        raise DeclarationError(
            "this value can be positive, but the declaration says `nonpos`", init.span, hint=_sign_hint(init, "nonpos")
        )
    if "psd" in attributes and init.kind == "constant" and init.args[0] < 0:
        raise DeclarationError(
            "a matrix with every entry negative is not positive semidefinite",
            init.span,
            hint="use `eye`, `zeros` or a number ≥ 0",
        )


def _init_range(init: Init) -> tuple[float, float]:
    if init.kind == "constant":
        return init.args[0], init.args[0]
    if init.kind == "zeros":
        return 0.0, 0.0
    if init.kind in ("ones", "eye"):
        return 0.0, 1.0
    if init.kind == "uniform":
        return init.args
    return float("-inf"), float("inf")


def _sign_hint(init: Init, attribute: str) -> str:
    if init.kind in ("normal", "uniform"):
        return "use uniform(LO, HI) with 0 ≤ LO" if attribute == "nonneg" else "use uniform(LO, HI) with HI ≤ 0"
    return "change the value or the attribute"
