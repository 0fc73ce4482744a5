"""Symbolic tensors in the parameters: the values of every block of the standard form.

A Data node is a tensor expression over parameters and learnables. Its *logical* shape is
the shape the model speaks of; at run time the tensor also has the parameters' leading batch
dimensions and, when ``rows`` is set, an iteration-row axis just before the logical ones:

    (*batch, [rows], *shape)

The row axis holds one value per iteration of the loops around the expression, so a
constraint inside ``for t in range(T)`` is built by one tensor operation for all T.

Each node knows how to write itself as torch code (``code``), as text and LaTeX for the
standard-form views, and as a sympy expression. Constructors fold constants, so the code
and the views carry no ``* 1`` or ``+ 0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

Shape = tuple[int, ...]

_ATOM, _POSTFIX, _POWER, _UNARY, _PRODUCT, _SUM = 6, 5, 4, 3, 2, 1
"""Printing precedences: higher binds tighter."""


@dataclass(frozen=True, eq=False)
class Data:
    shape: Shape
    rows: int | None

    def children(self) -> tuple[Data, ...]:
        return ()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def code(self, args: Sequence[str]) -> str:
        """Torch code for this node, given the code (variable names) of its children."""
        raise NotImplementedError

    def text(self, args: Sequence[tuple[str, int]]) -> tuple[str, int]:
        """Plain text and its precedence, given the children's."""
        raise NotImplementedError

    def latex(self, args: Sequence[tuple[str, int]]) -> tuple[str, int]:
        return self.text(args)

    def sympy(self, args: Sequence[sympy.Basic]) -> sympy.Basic:
        return sympy.Function(type(self).__name__)(*args)


# ---- leaves ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Transparent(Data):
    """A node that moves or regroups entries but means the same as its one child in the views."""

    x: Data

    def children(self) -> tuple[Data, ...]:
        return (self.x,)

    def text(self, args):
        return args[0]

    def latex(self, args):
        return args[0]

    def sympy(self, args):
        return args[0]


@dataclass(frozen=True, eq=False)
class Param(Data):
    """A parameter or learnable, by name; ``code`` is the local variable that holds it."""

    name: str

    def code(self, args: Sequence[str]) -> str:
        return self.name

    def text(self, args):
        return self.name, _ATOM

    def latex(self, args):
        return _latex_name(self.name), _ATOM

    def sympy(self, args):
        return sympy.Symbol(self.name) if not self.shape else sympy.MatrixSymbol(self.name, *_matrix_dims(self.shape))


@dataclass(frozen=True, eq=False)
class Literal(Data):
    """A numeric constant; ``value`` has shape ``(rows, *shape)`` when looped, else ``shape``."""

    value: np.ndarray = field(repr=False)

    def code(self, args: Sequence[str]) -> str:
        raise AssertionError("code generation names literals itself")

    @property
    def scalar(self) -> float | None:
        """The single value when every entry is the same, else None."""
        flat = self.value.reshape(-1)
        if flat.size and np.all(flat == flat[0]):
            return float(flat[0])
        return None

    def text(self, args):
        return _literal_text(self), _ATOM

    def latex(self, args):
        text = _literal_text(self)
        return {"I": r"I", "0": "0", "1": r"\mathbf{1}"}.get(text, text), _ATOM

    def sympy(self, args):
        value = self.scalar
        if value is not None:
            return sympy.Float(value) if value != int(value) else sympy.Integer(int(value))
        if self.rows is None and _is_identity(self.value):
            return sympy.Identity(self.shape[0])
        if self.rows is None and self.size <= 16:
            return sympy.Matrix(self.value.reshape(_matrix_dims(self.shape)))
        return sympy.Symbol(_literal_text(self))


def literal(value: float | np.ndarray, rows: int | None = None) -> Literal:
    """A constant; with ``rows``, value's first axis holds one value per iteration row.

    A single row is the same as no row axis (it broadcasts), so rows == 1 is stored without one.
    """
    array = np.asarray(value, dtype=np.float64)
    if rows == 1:
        array, rows = array.reshape(array.shape[1:]), None
    shape = array.shape[1:] if rows is not None else array.shape
    return Literal(tuple(shape), rows, array)


def _one_row(node: Data) -> Data:
    """A looped node with a single row, read as unlooped data (it broadcasts the same)."""
    if node.rows != 1:
        return node
    return Reshape(node.shape, None, Unloop((1,) + node.shape, None, node))


def _literal_text(node: Literal) -> str:
    value = node.scalar
    if value is not None:
        return _number(value)
    if node.rows is None and _is_identity(node.value):
        return "I"
    kind = "per-iteration constant" if node.rows is not None else "constant"
    return f"<{kind} {'×'.join(map(str, node.shape)) or 'scalar'}>"


def _is_identity(value: np.ndarray) -> bool:
    return value.ndim == 2 and value.shape[0] == value.shape[1] and np.array_equal(value, np.eye(value.shape[0]))


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


# ---- elementwise ---------------------------------------------------------------------


_BINARY_SYMBOLS = {"add": ("+", _SUM), "sub": ("-", _SUM), "mul": ("*", _PRODUCT), "div": ("/", _PRODUCT)}
_BINARY_CODE = {
    "add": "{0} + {1}",
    "sub": "{0} - {1}",
    "mul": "{0} * {1}",
    "div": "{0} / {1}",
    "pow": "{0} ** {1}",
    "maximum": "torch.maximum({0}, {1})",
    "minimum": "torch.minimum({0}, {1})",
}


@dataclass(frozen=True, eq=False)
class Binary(Data):
    """Elementwise ``x op y`` with NumPy broadcasting (rows broadcast too)."""

    op: str
    x: Data
    y: Data

    def children(self):
        return (self.x, self.y)

    def code(self, args):
        return _BINARY_CODE[self.op].format(*args)

    def text(self, args):
        (a, pa), (b, pb) = args
        if self.op in _BINARY_SYMBOLS:
            symbol, precedence = _BINARY_SYMBOLS[self.op]
            right_needs = pb < precedence or (pb == precedence and self.op in ("sub", "div"))
            return (
                f"{_wrap(a, pa, precedence)} {symbol} {_wrap(b, pb + right_needs, precedence + right_needs)}",
                precedence,
            )
        if self.op == "pow":
            return f"{_wrap(a, pa, _POWER + 1)} ** {_wrap(b, pb, _POWER)}", _POWER
        return f"{self.op}({a}, {b})", _ATOM

    def latex(self, args):
        (a, pa), (b, pb) = args
        if self.op == "mul":
            return (
                rf"{_wrap(a, pa, _PRODUCT, latex=True)} \odot {_wrap(b, pb, _PRODUCT, latex=True)}"
                if self.x.shape and self.y.shape
                else rf"{_wrap(a, pa, _PRODUCT, latex=True)} {_wrap(b, pb, _PRODUCT, latex=True)}",
                _PRODUCT,
            )
        if self.op == "div":
            return rf"\frac{{{a}}}{{{b}}}", _ATOM
        if self.op == "pow":
            return f"{{{_wrap(a, pa, _ATOM, latex=True)}}}^{{{b}}}", _POWER
        if self.op in ("add", "sub"):
            symbol = "+" if self.op == "add" else "-"
            return (
                f"{_wrap(a, pa, _SUM, latex=True)} {symbol} {_wrap(b, pb, _SUM + (self.op == 'sub'), latex=True)}",
                _SUM,
            )
        return rf"\operatorname{{{self.op}}}({a}, {b})", _ATOM

    def sympy(self, args):
        a, b = args
        if self.op == "add":
            return a + b
        if self.op == "sub":
            return a - b
        if self.op == "mul":
            return a * b if not (self.x.shape and self.y.shape) else sympy.HadamardProduct(a, b)
        if self.op == "div":
            return a / b if not self.y.shape else sympy.Function("divide")(a, b)
        if self.op == "pow":
            return a**b if not self.x.shape else sympy.HadamardPower(a, b)
        return sympy.Function(self.op)(a, b)


@dataclass(frozen=True, eq=False)
class Unary(Data):
    """Elementwise function of one tensor: neg, abs, square, pos (max(x, 0)), negpart (max(-x, 0))."""

    op: str
    x: Data

    def children(self):
        return (self.x,)

    def code(self, args):
        (a,) = args
        return {
            "neg": f"-{a}",
            "abs": f"{a}.abs()",
            "square": f"{a}.square()",
            "pos": f"{a}.clamp(min=0)",
            "negpart": f"(-{a}).clamp(min=0)",
            "sqrt": f"{a}.sqrt()",
        }[self.op]

    def text(self, args):
        ((a, pa),) = args
        if self.op == "neg":
            return f"-{_wrap(a, pa, _UNARY)}", _UNARY
        name = "neg" if self.op == "negpart" else self.op
        return f"{name}({a})", _ATOM

    def latex(self, args):
        ((a, pa),) = args
        if self.op == "neg":
            return f"-{_wrap(a, pa, _UNARY, latex=True)}", _UNARY
        if self.op == "abs":
            return rf"\left|{a}\right|", _ATOM
        if self.op == "square":
            return f"{{{_wrap(a, pa, _ATOM, latex=True)}}}^{{2}}", _POWER
        name = "neg" if self.op == "negpart" else self.op
        return rf"\operatorname{{{name}}}({a})", _ATOM

    def sympy(self, args):
        (a,) = args
        if self.op == "neg":
            return -a
        if not self.shape and self.op == "abs":
            return sympy.Abs(a)
        if not self.shape and self.op == "square":
            return a**2
        return sympy.Function(self.op)(a)


@dataclass(frozen=True, eq=False)
class Elementwise(Data):
    """An elementwise function of several tensors given by a torch code template ({0}, {1}, …)."""

    name: str
    args: tuple[Data, ...]
    template: str

    def children(self):
        return self.args

    def code(self, args):
        return self.template.format(*args)

    def text(self, args):
        return f"{self.name}({', '.join(a for a, _ in args)})", _ATOM

    def latex(self, args):
        return rf"\operatorname{{{self.name}}}({', '.join(a for a, _ in args)})", _ATOM

    def sympy(self, args):
        return sympy.Function(self.name)(*args)


# ---- linear algebra and structure -------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MatMul(Data):
    """``x @ y`` with numpy.matmul's rules for vectors and matrices."""

    x: Data
    y: Data

    def children(self):
        return (self.x, self.y)

    def code(self, args):
        a, b = args
        if self.x.ndim == 1 and self.y.ndim == 1:
            return f"({a} * {b}).sum(-1)"
        if self.y.ndim == 1:
            return f"({a} @ {b}.unsqueeze(-1)).squeeze(-1)"
        if self.x.ndim == 1:
            return f"({a}.unsqueeze(-2) @ {b}).squeeze(-2)"
        return f"{a} @ {b}"

    def text(self, args):
        (a, pa), (b, pb) = args
        return f"{_wrap(a, pa, _PRODUCT)} @ {_wrap(b, pb, _PRODUCT + 1)}", _PRODUCT

    def latex(self, args):
        (a, pa), (b, pb) = args
        return f"{_wrap(a, pa, _PRODUCT, latex=True)} {_wrap(b, pb, _PRODUCT + 1, latex=True)}", _PRODUCT

    def sympy(self, args):
        a, b = args
        return a * b if (self.x.ndim == 0 or self.y.ndim == 0) else sympy.MatMul(a, b)


@dataclass(frozen=True, eq=False)
class Transpose(Data):
    x: Data

    def children(self):
        return (self.x,)

    def code(self, args):
        return f"{args[0]}.transpose(-1, -2)"

    def text(self, args):
        ((a, pa),) = args
        return f"{_wrap(a, pa, _POSTFIX)}.T", _POSTFIX

    def latex(self, args):
        ((a, pa),) = args
        return f"{{{_wrap(a, pa, _ATOM, latex=True)}}}^{{\\top}}", _POSTFIX

    def sympy(self, args):
        return sympy.Transpose(args[0]) if self.x.ndim == 2 else args[0]


@dataclass(frozen=True, eq=False)
class Reduce(Data):
    """Sum (or max, min) over all logical axes, or over one."""

    op: str
    x: Data
    axis: int | None

    def children(self):
        return (self.x,)

    def code(self, args):
        (a,) = args
        dims = tuple(range(-self.x.ndim, 0)) if self.axis is None else (self.axis - self.x.ndim,)
        if not dims:
            return a
        method = {"sum": "sum", "max": "amax", "min": "amin"}[self.op]
        return f"{a}.{method}(dim={dims if len(dims) > 1 else dims[0]})"

    def text(self, args):
        ((a, _),) = args
        axis = "" if self.axis is None else f", axis={self.axis}"
        return f"{self.op}({a}{axis})", _ATOM

    def latex(self, args):
        ((a, pa),) = args
        if self.op == "sum" and self.axis is None:
            return rf"\mathbf{{1}}^{{\top}} {_wrap(a, pa, _PRODUCT, latex=True)}", _PRODUCT
        axis = "" if self.axis is None else f", {self.axis}"
        return rf"\operatorname{{{self.op}}}({a}{axis})", _ATOM


@dataclass(frozen=True, eq=False)
class Diag(Data):
    """The diagonal matrix of a vector, or the diagonal of a square matrix."""

    x: Data

    def children(self):
        return (self.x,)

    def code(self, args):
        (a,) = args
        return f"torch.diag_embed({a})" if self.x.ndim == 1 else f"torch.diagonal({a}, dim1=-2, dim2=-1)"

    def text(self, args):
        return f"diag({args[0][0]})", _ATOM

    def latex(self, args):
        return rf"\operatorname{{diag}}({args[0][0]})", _ATOM


@dataclass(frozen=True, eq=False)
class Reshape(Transparent):
    """The same entries, row-major, in another logical shape."""

    def code(self, args):
        return f"_ops.reshape({args[0]}, {self.x.ndim}, {self.shape})"


@dataclass(frozen=True, eq=False)
class Concat(Data):
    """Concatenation along a logical axis (the parts broadcast in every other axis)."""

    parts: tuple[Data, ...]
    axis: int

    def children(self):
        return self.parts

    def code(self, args):
        return f"_ops.cat([{', '.join(args)}], {self.axis - self.ndim})"

    def text(self, args):
        return f"stack{self.axis}({', '.join(a for a, _ in args)})", _ATOM

    def latex(self, args):
        joiner = r" \\ " if self.axis == 0 else " & "
        return r"\begin{bmatrix}" + joiner.join(a for a, _ in args) + r"\end{bmatrix}", _ATOM


@dataclass(frozen=True, eq=False)
class Take(Data):
    """Entries picked by flat (row-major) position: ``index`` holds positions of x's logical entries.

    ``index`` has the result's logical shape, with a leading row axis when the picks differ
    from iteration to iteration. For a looped x with a looped index, ``index`` already holds
    positions into x's rows and entries flattened together.
    """

    x: Data
    index: np.ndarray = field(repr=False)
    label: str = ""

    def children(self):
        return (self.x,)

    def code(self, args):
        raise AssertionError("code generation names index tables itself")

    def text(self, args):
        ((a, pa),) = args
        return f"{_wrap(a, pa, _POSTFIX)}[{self.label or '…'}]", _POSTFIX

    def latex(self, args):
        ((a, pa),) = args
        label = self.label or r"\ldots"
        return f"{_wrap(a, pa, _POSTFIX, latex=True)}_{{[{label}]}}", _POSTFIX

    def sympy(self, args):
        return sympy.Function("take")(args[0], sympy.Symbol(self.label or "index"))


@dataclass(frozen=True, eq=False)
class RowTake(Transparent):
    """Iteration rows of a looped x, picked by ``rows`` (one entry per result row)."""

    index: np.ndarray = field(repr=False)

    def children(self):
        return (self.x,)

    def code(self, args):
        raise AssertionError("code generation names index tables itself")


@dataclass(frozen=True, eq=False)
class RowSum(Data):
    """Sums of a looped x's rows into the rows of an enclosing loop (``parent[r]`` receives row r)."""

    x: Data
    parent: np.ndarray = field(repr=False)

    def children(self):
        return (self.x,)

    def code(self, args):
        raise AssertionError("code generation names index tables itself")

    def text(self, args):
        return f"Σ {args[0][0]}", _UNARY

    def latex(self, args):
        return rf"\sum {_wrap(args[0][0], args[0][1], _PRODUCT, latex=True)}", _UNARY

    def sympy(self, args):
        return sympy.Function("rowsum")(args[0])


@dataclass(frozen=True, eq=False)
class Scatter(Data):
    """A vector of ``shape[0]`` entries: the sum of x's entries (flattened, rows included) at ``index``."""

    x: Data
    index: np.ndarray = field(repr=False)

    def children(self):
        return (self.x,)

    def code(self, args):
        raise AssertionError("code generation names index tables itself")

    def text(self, args):
        return f"scatter({args[0][0]})", _ATOM


@dataclass(frozen=True, eq=False)
class Unloop(Transparent):
    """A looped x read as one tensor whose first logical axis is the row axis (no data moves)."""

    def code(self, args):
        return args[0]


@dataclass(frozen=True, eq=False)
class Broadcast(Transparent):
    """x broadcast to a larger logical shape and, when ``rows`` is set, to every iteration row."""

    def code(self, args):
        rows = self.rows if self.x.rows is None and self.rows is not None else None
        return f"_ops.broadcast({args[0]}, {self.x.ndim}, {self.shape}, {rows})"


# ---- constructors that fold constants ---------------------------------------------------------


def _rows(*nodes: Data) -> int | None:
    rows = {n.rows for n in nodes if n.rows is not None}
    if len(rows) > 1:
        raise AssertionError(f"combining tensors of different iteration spaces: {rows}")
    return rows.pop() if rows else None


def _broadcast_shape(a: Shape, b: Shape) -> Shape:
    return tuple(np.broadcast_shapes(a, b))


def _const(node: Data) -> float | None:
    return node.scalar if isinstance(node, Literal) and node.rows is None else None


def add(x: Data, y: Data) -> Data:
    if isinstance(x, Literal) and isinstance(y, Literal):
        return _fold(np.add, x, y)
    if _const(x) == 0 and _broadcast_shape(x.shape, y.shape) == y.shape:
        return y
    if _const(y) == 0 and _broadcast_shape(x.shape, y.shape) == x.shape:
        return x
    if isinstance(y, Unary) and y.op == "neg":
        return sub(x, y.x)
    return Binary(_broadcast_shape(x.shape, y.shape), _rows(x, y), "add", x, y)


def sub(x: Data, y: Data) -> Data:
    if isinstance(x, Literal) and isinstance(y, Literal):
        return _fold(np.subtract, x, y)
    if _const(y) == 0 and _broadcast_shape(x.shape, y.shape) == x.shape:
        return x
    if _const(x) == 0 and _broadcast_shape(x.shape, y.shape) == y.shape:
        return neg(y)
    return Binary(_broadcast_shape(x.shape, y.shape), _rows(x, y), "sub", x, y)


def mul(x: Data, y: Data) -> Data:
    if isinstance(x, Literal) and isinstance(y, Literal):
        return _fold(np.multiply, x, y)
    shape = _broadcast_shape(x.shape, y.shape)
    rows = _rows(x, y)
    for a, b in ((x, y), (y, x)):
        value = a.scalar if isinstance(a, Literal) else None
        if value == 1:
            return broadcast(b, shape, rows)
        if value == -1:
            return broadcast(neg(b), shape, rows)
        if value == 0:
            return literal(np.zeros(((rows,) if rows else ()) + shape), rows)
    if _const(x) is None and _const(y) is not None:
        x, y = y, x
    return Binary(shape, _rows(x, y), "mul", x, y)


def div(x: Data, y: Data) -> Data:
    if isinstance(x, Literal) and isinstance(y, Literal):
        return _fold(np.divide, x, y)
    if _const(y) == 1 and _broadcast_shape(x.shape, y.shape) == x.shape:
        return x
    return Binary(_broadcast_shape(x.shape, y.shape), _rows(x, y), "div", x, y)


def power(x: Data, exponent: float) -> Data:
    if isinstance(x, Literal):
        return literal(np.power(x.value, exponent), x.rows)
    if exponent == 1:
        return x
    if exponent == 2:
        return Unary(x.shape, x.rows, "square", x)
    return Binary(x.shape, x.rows, "pow", x, literal(exponent))


def binary(op: str, x: Data, y: Data) -> Data:
    """maximum or minimum of two tensors."""
    if isinstance(x, Literal) and isinstance(y, Literal):
        return _fold(np.maximum if op == "maximum" else np.minimum, x, y)
    return Binary(_broadcast_shape(x.shape, y.shape), _rows(x, y), op, x, y)


def neg(x: Data) -> Data:
    if isinstance(x, Literal):
        return literal(-x.value, x.rows)
    if isinstance(x, Unary) and x.op == "neg":
        return x.x
    if isinstance(x, Reshape):
        return reshape(neg(x.x), x.shape)
    if isinstance(x, Broadcast):
        return broadcast(neg(x.x), x.shape, x.rows)
    return Unary(x.shape, x.rows, "neg", x)


def unary(op: str, x: Data) -> Data:
    if isinstance(x, Literal):
        fn = {
            "abs": np.abs,
            "square": np.square,
            "pos": lambda v: np.maximum(v, 0),
            "negpart": lambda v: np.maximum(-v, 0),
        }
        return literal(fn[op](x.value), x.rows)
    return Unary(x.shape, x.rows, op, x)


def matmul(x: Data, y: Data) -> Data:
    shape = x.shape[:-1] + y.shape[1:]
    if isinstance(x, Literal) and isinstance(y, Literal) and x.rows is None and y.rows is None:
        return literal(np.matmul(x.value, y.value))
    for a, b in ((x, y), (y, x)):
        if isinstance(a, Literal) and a.rows is None and _is_identity(a.value):
            return b
    return MatMul(shape, _rows(x, y), x, y)


def transpose(x: Data) -> Data:
    if x.ndim < 2:
        return x
    if isinstance(x, Literal):
        return literal(np.swapaxes(x.value, -1, -2), x.rows)
    if isinstance(x, Transpose):
        return x.x
    return Transpose(x.shape[::-1], x.rows, x)


def reduce(op: str, x: Data, axis: int | None = None) -> Data:
    if axis is None and not x.shape:
        return x
    shape = () if axis is None else tuple(s for i, s in enumerate(x.shape) if i != axis)
    if isinstance(x, Literal):
        fn = {"sum": np.sum, "max": np.max, "min": np.min}[op]
        axes = tuple(range(-x.ndim, 0)) if axis is None else axis - x.ndim
        return literal(fn(x.value, axis=axes), x.rows)
    return Reduce(shape, x.rows, op, x, axis)


def diag(x: Data) -> Data:
    if isinstance(x, Literal) and x.rows is None:
        return literal(np.diag(x.value))
    shape = (x.shape[0], x.shape[0]) if x.ndim == 1 else (x.shape[0],)
    return Diag(shape, x.rows, x)


def reshape(x: Data, shape: Shape) -> Data:
    if x.shape == tuple(shape):
        return x
    if isinstance(x, Literal):
        lead = (x.rows,) if x.rows is not None else ()
        return literal(x.value.reshape(lead + tuple(shape)), x.rows)
    if isinstance(x, Reshape):
        return reshape(x.x, shape)
    return Reshape(tuple(shape), x.rows, x)


def concat(parts: Sequence[Data], axis: int) -> Data:
    shape = list(np.broadcast_shapes(*[p.shape[:axis] + (1,) + p.shape[axis + 1 :] for p in parts]))
    shape[axis] = sum(p.shape[axis] for p in parts)
    rows = _rows(*parts)
    if all(isinstance(p, Literal) and p.rows is None for p in parts):
        return literal(
            np.concatenate(
                [
                    np.broadcast_to(p.value, tuple(shape[:axis]) + (p.shape[axis],) + tuple(shape[axis + 1 :]))
                    for p in parts
                ],
                axis=axis,
            )
        )
    return Concat(tuple(shape), rows, tuple(parts), axis)


def take(x: Data, index: np.ndarray, looped_index: bool, label: str = "") -> Data:
    """x's entries at flat positions ``index`` (with a leading row axis when ``looped_index``)."""
    index = np.asarray(index, dtype=np.int64)
    if looped_index and index.shape[0] == 1 and x.rows is None:
        index, looped_index = index[0], False
    shape = index.shape[1:] if looped_index else index.shape
    rows = index.shape[0] if looped_index else x.rows
    if x.rows is not None and looped_index:
        assert x.rows == index.shape[0]
        index = index + (np.arange(x.rows) * x.size).reshape((-1,) + (1,) * (index.ndim - 1))
    if isinstance(x, Literal):
        flat = x.value.reshape(-1) if (x.rows is None or looped_index) else x.value.reshape(x.rows, -1)
        value = flat[index] if (x.rows is None or looped_index) else flat[:, index]
        return literal(value, rows)
    if not looped_index and index.size == x.size and np.array_equal(index.reshape(-1), np.arange(x.size)):
        return reshape(x, tuple(shape))
    return Take(tuple(shape), rows, x, index, label)


def row_take(x: Data, rows: np.ndarray) -> Data:
    """The looped x's iteration rows ``rows``; unlooped data is the same in every row."""
    if x.rows is None:
        return x
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == x.rows and np.array_equal(rows, np.arange(x.rows)):
        return x
    if isinstance(x, Literal):
        return literal(x.value[rows], len(rows))
    return _one_row(RowTake(x.shape, len(rows), x, rows))


def row_sum(x: Data, parent: np.ndarray, count: int) -> Data:
    """Sum x's rows into ``count`` rows; ``parent[r]`` receives row r. Unlooped x is counted."""
    parent = np.asarray(parent, dtype=np.int64)
    if x.rows is None:
        counts = np.bincount(parent, minlength=count).astype(np.float64)
        return mul(x, literal(counts.reshape((count,) + (1,) * x.ndim), rows=count))
    if isinstance(x, Literal):
        out = np.zeros((count,) + x.shape)
        np.add.at(out, parent, x.value)
        return literal(out, count)
    return _one_row(RowSum(x.shape, count, x, parent))


def scatter(x: Data, index: np.ndarray, size: int) -> Data:
    """The vector of ``size`` entries that receives x's entries (all rows, flattened) at ``index``."""
    index = np.asarray(index, dtype=np.int64).reshape(-1)
    if isinstance(x, Literal):
        out = np.zeros(size)
        np.add.at(out, index, np.broadcast_to(x.value, _full_shape(x)).reshape(-1))
        return literal(out)
    return Scatter((size,), None, x, index)


def _full_shape(x: Data) -> tuple[int, ...]:
    return ((x.rows,) if x.rows is not None else ()) + x.shape


def unloop(x: Data) -> Data:
    if x.rows is None:
        raise AssertionError("unloop needs looped data")
    if isinstance(x, Literal):
        return literal(x.value)
    return Unloop((x.rows,) + x.shape, None, x)


def broadcast(x: Data, shape: Shape, rows: int | None = None) -> Data:
    """x broadcast to ``shape`` (and to ``rows`` iteration rows, if given)."""
    shape = tuple(shape)
    rows = x.rows if rows is None else rows
    if rows == 1 and x.rows is None:
        rows = None
    if x.shape == shape and x.rows == rows:
        return x
    if isinstance(x, Literal):
        lead = (rows,) if rows is not None else ()
        value = x.value if x.rows is not None or rows is None else x.value[None]
        padded = value.reshape(value.shape[: len(lead)] + (1,) * (len(shape) - x.ndim) + x.shape)
        return literal(np.broadcast_to(padded, lead + shape).copy(), rows)
    return Broadcast(shape, rows, x)


def elementwise(name: str, args: Sequence[Data], template: str) -> Data:
    shape: Shape = ()
    for a in args:
        shape = _broadcast_shape(shape, a.shape)
    return Elementwise(shape, _rows(*args), name, tuple(args), template)


def _fold(fn, x: Literal, y: Literal) -> Literal:
    rows = _rows(x, y)
    ndim = max(x.ndim, y.ndim)
    return literal(fn(_padded(x, ndim), _padded(y, ndim)), rows)


def _padded(x: Literal, ndim: int) -> np.ndarray:
    """x's value with its logical axes padded to ``ndim``, so that a row axis never meets a logical one."""
    lead = (x.rows,) if x.rows is not None else ()
    return x.value.reshape(lead + (1,) * (ndim - x.ndim) + x.shape)


def _matrix_dims(shape: Shape) -> tuple[int, int]:
    if len(shape) == 2:
        return shape
    return (shape[0], 1) if shape else (1, 1)


def _latex_name(name: str) -> str:
    greek = {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "lambda",
        "mu",
        "nu",
        "rho",
        "sigma",
        "tau",
        "theta",
        "kappa",
        "eta",
        "omega",
        "phi",
        "psi",
        "xi",
        "zeta",
        "pi",
        "chi",
    }
    base, _, sub = name.partition("_")
    head = "\\" + base if base.lower() in greek and base[0].islower() else base
    if len(head) > 1 and not head.startswith("\\"):
        head = rf"\mathrm{{{head}}}"
    if base == "lam":
        head = r"\lambda"
    return f"{head}_{{{sub}}}" if sub else head


def _wrap(text: str, own: int, needed: int, latex: bool = False) -> str:
    if own >= needed:
        return text
    return rf"\left({text}\right)" if latex else f"({text})"


def walk(roots: Sequence[Data]) -> list[Data]:
    """Every node reachable from ``roots``, children before parents, each once."""
    order: list[Data] = []
    seen: set[int] = set()
    stack: list[tuple[Data, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in seen:
            continue
        if expanded:
            seen.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.children()) if id(child) not in seen)
    return order


def render(node: Data, style: str = "text") -> str:
    """``node`` as text or LaTeX."""
    results: dict[int, tuple[str, int]] = {}
    for item in walk([node]):
        args = [results[id(c)] for c in item.children()]
        results[id(item)] = item.latex(args) if style == "latex" else item.text(args)
    return results[id(node)][0]


def to_sympy(node: Data) -> sympy.Basic:
    results: dict[int, sympy.Basic] = {}
    for item in walk([node]):
        results[id(item)] = item.sympy([results[id(c)] for c in item.children()])
    return results[id(node)]
