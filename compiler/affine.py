"""Affine expressions in the stacked variable z, for all iterations of a loop at once.

An expression of shape S in an iteration space of R rows is, in every row r and at every
flat position p of S,

    e[r, p] = Σ_terms Σ_k  values[r, p, k] · z[cols[r, p, k]]  +  constant[r, p]

``cols`` is a numpy array known at compile time, of shape (R or 1, N or 1, K): a leading 1
means "the same in every row", a middle 1 "the same at every position". ``values`` is a
Data node (symbolic in the parameters) of logical shape (N or 1, K or 1), looped over the
rows or not; None means all ones. Only the values are computed at run time, by a few tensor
operations per source construct, whatever the number of loop iterations.

Columns may also be negative: column -(j+1) is *virtual* coordinate j, which stands for one
square (or quadratic form) registered by a quadratic atom. Quadratic terms are thereby linear
in the virtual coordinates, and sums, weights, indexing and generator sums of them need no
machinery of their own; the objective turns them into Q at the end (compiler/objective.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import data
from .data import Data, Shape


@dataclass(frozen=True)
class Term:
    cols: np.ndarray
    values: Data | None

    @property
    def width(self) -> int:
        return self.cols.shape[2]

    @property
    def position_dependent(self) -> bool:
        return self.cols.shape[1] > 1

    @property
    def looped(self) -> bool:
        return self.cols.shape[0] > 1 or (self.values is not None and self.values.rows is not None)

    def full_values(self, positions: int) -> Data:
        """The values broadcast to (positions, width), ones where values is None."""
        values = self.values if self.values is not None else data.literal(np.ones((1, 1)))
        return data.broadcast(values, (positions, self.width))


@dataclass(frozen=True)
class Affine:
    shape: Shape
    rows: int
    terms: tuple[Term, ...]
    constant: Data | None

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def looped(self) -> bool:
        return any(t.looped for t in self.terms) or (self.constant is not None and self.constant.rows is not None)

    def constant_or_zero(self) -> Data:
        if self.constant is None:
            return data.literal(np.zeros(self.shape))
        return self.constant


# ---- construction -------------------------------------------------------------------------


def variable(offset: int, shape: Shape, rows: int) -> Affine:
    """The entries of a variable stored at z[offset : offset + size], row-major."""
    size = math.prod(shape)
    cols = (offset + np.arange(size, dtype=np.int64)).reshape(1, size, 1)
    return Affine(tuple(shape), rows, (Term(cols, None),), None)


def virtual(first: int, shape: Shape, rows: int) -> Affine:
    """Virtual coordinates first, first + 1, …: one per row and position, row-major."""
    size = math.prod(shape)
    coordinates = first + np.arange(rows * size, dtype=np.int64).reshape(rows, size, 1)
    return Affine(tuple(shape), rows, (Term(-(coordinates + 1), None),), None)


def constant(value: Data, rows: int) -> Affine:
    return Affine(value.shape, rows, (), value)


# ---- arithmetic ---------------------------------------------------------------------------


def negate(a: Affine) -> Affine:
    terms = tuple(
        Term(t.cols, data.neg(t.values) if t.values is not None else data.literal(-np.ones((1, 1)))) for t in a.terms
    )
    return Affine(a.shape, a.rows, terms, data.neg(a.constant) if a.constant is not None else None)


def add(a: Affine, b: Affine, sign: int = 1) -> Affine:
    """a + sign·b with NumPy broadcasting."""
    shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    a, b = broadcast_to(a, shape), broadcast_to(b, shape)
    if sign < 0:
        b = negate(b)
    if a.constant is None:
        constant_part = b.constant
    elif b.constant is None:
        constant_part = a.constant
    else:
        constant_part = data.add(a.constant, b.constant)
    return Affine(shape, a.rows, a.terms + b.terms, constant_part)


def add_constant(a: Affine, value: Data, sign: int = 1) -> Affine:
    return add(a, constant(value, a.rows), sign)


def broadcast_to(a: Affine, shape: Shape) -> Affine:
    shape = tuple(shape)
    if a.shape == shape:
        return a
    source = np.broadcast_to(np.arange(a.size).reshape(a.shape), shape).reshape(-1)
    return select(a, source, shape)


def scale(a: Affine, factor: Data) -> Affine:
    """The elementwise product a * factor (factor constant), with NumPy broadcasting."""
    shape = tuple(np.broadcast_shapes(a.shape, factor.shape))
    a = broadcast_to(a, shape)
    size = math.prod(shape)
    per_position = (
        data.reshape(data.broadcast(factor, shape), (size, 1)) if factor.shape != () else data.reshape(factor, (1, 1))
    )
    terms = tuple(Term(t.cols, per_position if t.values is None else data.mul(t.values, per_position)) for t in a.terms)
    constant_part = data.mul(a.constant, factor) if a.constant is not None else None
    return Affine(shape, a.rows, terms, constant_part)


# ---- positions: indexing, transposing, stacking ---------------------------------------------


def select(a: Affine, source: np.ndarray, shape: Shape, label: str = "", looped: bool = False) -> Affine:
    """Entries of a by flat position: result position q takes a's position source[…, q].

    ``source`` has the result's size, with a leading row axis (length a.rows) when
    ``looped``, that is when the selection differs between iterations; -1 marks a position
    that is zero.
    """
    shape = tuple(shape)
    size = math.prod(shape)
    source = source.reshape((a.rows, size) if looped else (size,))
    mask = source >= 0
    picked = np.where(mask, source, 0)
    zero = (
        data.literal(mask.reshape(picked.shape + (1,)).astype(np.float64), a.rows if looped else None)
        if not mask.all()
        else None
    )
    terms = []
    for term in a.terms:
        cols = term.cols
        if term.position_dependent:
            rows_index = np.arange(cols.shape[0]).reshape(-1, 1) if (looped and cols.shape[0] > 1) else 0
            cols = cols[rows_index, picked] if looped else cols[:, picked]
        values = term.values
        if values is not None and values.shape[0] > 1:
            width = values.shape[1]
            flat = picked[..., None] * width + np.arange(width)
            values = data.take(values, flat, looped, label)
        if zero is not None:
            values = zero if values is None else data.mul(values, zero)
        terms.append(Term(cols, values))
    constant_part = None
    if a.constant is not None:
        constant_part = data.take(a.constant, picked.reshape((a.rows,) + shape if looped else shape), looped, label)
        if zero is not None:
            constant_part = data.mul(constant_part, data.reshape(zero, shape))
    return Affine(shape, a.rows, tuple(terms), constant_part)


def transpose(a: Affine) -> Affine:
    if len(a.shape) < 2:
        return a
    m, n = a.shape
    return select(a, np.arange(m * n).reshape(m, n).T.reshape(-1), (n, m), "T")


def diag(a: Affine) -> Affine:
    if len(a.shape) == 1:
        n = a.shape[0]
        source = np.full((n, n), -1, dtype=np.int64)
        source[np.arange(n), np.arange(n)] = np.arange(n)
        return select(a, source.reshape(-1), (n, n), "diag")
    n = a.shape[0]
    return select(a, np.arange(n) * (n + 1), (n,), "diag")


def concatenate(parts: list[Affine], axis: int, shape: Shape) -> Affine:
    """Parts of equal rank placed side by side along ``axis`` into ``shape``."""
    result = None
    offset = 0
    for part in parts:
        source = np.full(shape, -1, dtype=np.int64)
        index = [slice(None)] * len(shape)
        index[axis] = slice(offset, offset + part.shape[axis])
        block_shape = list(shape)
        block_shape[axis] = part.shape[axis]
        source[tuple(index)] = np.broadcast_to(np.arange(part.size).reshape(part.shape), block_shape)
        placed = select(part, source.reshape(-1), shape)
        result = placed if result is None else add(result, placed)
        offset += part.shape[axis]
    return result


# ---- sums ---------------------------------------------------------------------------------


def sum_positions(a: Affine, axis: int | None) -> Affine:
    """sum(a) or sum(a, axis=axis)."""
    if axis is None:
        groups = np.arange(a.size).reshape(1, -1)
        shape: Shape = ()
    else:
        axis %= len(a.shape)
        moved = np.moveaxis(np.arange(a.size).reshape(a.shape), axis, -1)
        shape = moved.shape[:-1]
        groups = moved.reshape(-1, a.shape[axis])
    out, group = groups.shape
    terms = []
    for term in a.terms:
        if not term.position_dependent:
            if term.values is None or term.values.shape[0] == 1:
                count = data.literal(np.full((1, 1), float(group)))
                terms.append(Term(term.cols, count if term.values is None else data.mul(term.values, count)))
            else:
                width = term.values.shape[1]
                flat = groups[:, :, None] * width + np.arange(width)
                picked = data.take(term.values, flat, False)
                terms.append(Term(term.cols, data.reduce("sum", picked, 1)))
            continue
        cols = term.cols[:, groups, :].reshape(term.cols.shape[0], out, group * term.width)
        values = None
        if term.values is not None:
            full = term.full_values(a.size)
            flat = groups[:, :, None] * term.width + np.arange(term.width)
            values = data.reshape(data.take(full, flat, False), (out, group * term.width))
        terms.append(Term(cols, values))
    constant_part = data.reduce("sum", a.constant, axis) if a.constant is not None else None
    return Affine(shape, a.rows, tuple(terms), constant_part)


def sum_rows(body: Affine, parent: np.ndarray, rows: int) -> Affine:
    """Σ over the iterations of a generator: body's row r adds into row parent[r] of ``rows``."""
    counts = np.bincount(parent, minlength=rows)
    widest = int(counts.max()) if counts.size else 0
    order = np.argsort(parent, kind="stable")
    starts = np.cumsum(counts) - counts
    table = np.full((rows, max(widest, 1)), -1, dtype=np.int64)
    slot = np.arange(len(parent)) - np.repeat(starts, counts)
    table[parent[order], slot] = order
    present = table >= 0
    picked = np.where(present, table, 0)
    terms = []
    for term in body.terms:
        if not term.looped:
            factor = data.literal(counts.reshape(rows, 1, 1).astype(np.float64), rows)
            terms.append(Term(term.cols, factor if term.values is None else data.mul(term.values, factor)))
            continue
        cols = term.cols if term.cols.shape[0] > 1 else np.broadcast_to(term.cols, (body.rows,) + term.cols.shape[1:])
        gathered = cols[picked]  # (rows, widest, N|1, K)
        cols = np.moveaxis(gathered, 1, 2).reshape(rows, gathered.shape[2], -1)
        values = _gather_rows(term, picked, present, body.size)
        terms.append(Term(cols, values))
    constant_part = data.row_sum(body.constant, parent, rows) if body.constant is not None else None
    return Affine(body.shape, rows, tuple(terms), constant_part)


def _gather_rows(term: Term, picked: np.ndarray, present: np.ndarray, positions: int) -> Data | None:
    """Values of a looped term regrouped by parent row: (positions, widest·width), padding zeroed."""
    rows, widest = picked.shape
    width = term.width
    if term.values is None:
        if present.all():
            return None
        mask = np.broadcast_to(present[:, None, :, None], (rows, 1, widest, width))
        return data.literal(mask.reshape(rows, 1, widest * width).astype(np.float64), rows)
    values = term.values
    value_positions = values.shape[0]
    full = data.broadcast(values, (value_positions, width), values.rows)
    if full.rows is None:
        tiled = data.broadcast(data.reshape(full, (value_positions, 1, width)), (value_positions, widest, width))
        result = data.reshape(tiled, (value_positions, widest * width))
        if present.all():
            return result
        mask = np.broadcast_to(present[:, None, :, None], (rows, 1, widest, width)).reshape(rows, 1, widest * width)
        return data.mul(result, data.literal(mask.astype(np.float64), rows))
    stride = value_positions * width
    flat = (
        picked[:, None, :, None] * stride
        + np.arange(value_positions)[None, :, None, None] * width
        + np.arange(width)[None, None, None, :]
    ).reshape(rows, value_positions, widest * width)
    result = data.take(data.unloop(full), flat, True)
    if present.all():
        return result
    mask = np.broadcast_to(present[:, None, :, None], (rows, 1, widest, width)).reshape(rows, 1, widest * width)
    return data.mul(result, data.literal(mask.astype(np.float64), rows))


# ---- products with constant matrices ------------------------------------------------------------


def matmul_left(matrix: Data, a: Affine) -> Affine:
    """matrix @ a, the matrix constant (a vector or a matrix), numpy.matmul's rules."""
    left = matrix if matrix.ndim == 2 else data.reshape(matrix, (1,) + matrix.shape)
    inner = a.shape[0]
    columns = a.shape[1] if len(a.shape) == 2 else 1
    out_rows = left.shape[0]
    shape = matrix.shape[:-1] + a.shape[1:]
    terms = []
    for term in a.terms:
        if not term.position_dependent:
            full = term.full_values(a.size)
            grid = data.reshape(full, (inner, columns * term.width))
            product = data.matmul(left, grid)
            terms.append(Term(term.cols, data.reshape(product, (out_rows * columns, term.width))))
            continue
        cols = term.cols.reshape(term.cols.shape[0], inner, columns, term.width)
        cols = np.moveaxis(cols, 1, 2).reshape(term.cols.shape[0], 1, columns, inner * term.width)
        cols = np.broadcast_to(cols, (cols.shape[0], out_rows, columns, inner * term.width))
        cols = cols.reshape(cols.shape[0], out_rows * columns, inner * term.width)
        if columns == 1:
            cols = cols[:, :1, :]
        values = _outer_left(left, term, inner, columns, a.size)
        terms.append(Term(np.ascontiguousarray(cols), values))
    constant_part = data.matmul(matrix, a.constant) if a.constant is not None else None
    return Affine(shape, a.rows, tuple(terms), constant_part)


def _outer_left(left: Data, term: Term, inner: int, columns: int, positions: int) -> Data:
    """values[(i, j), (l, k)] = left[i, l] · term[(l, j), k] for position-dependent columns."""
    out_rows = left.shape[0]
    width = term.width
    if term.values is None and columns == 1:
        return data.reshape(left, (out_rows, inner))
    full = term.full_values(positions)
    per_column = data.reshape(full, (inner, columns, width))
    if columns > 1:
        permutation = np.arange(inner * columns * width).reshape(inner, columns, width).transpose(1, 0, 2)
        per_column = data.take(per_column, permutation, False)
    else:
        per_column = data.reshape(per_column, (1, inner, width))
    product = data.mul(
        data.reshape(left, (out_rows, 1, inner, 1)), data.reshape(per_column, (1, columns, inner, width))
    )
    return data.reshape(product, (out_rows * columns, inner * width))


def matmul_right(a: Affine, matrix: Data) -> Affine:
    """a @ matrix, the matrix constant (a vector or a matrix), numpy.matmul's rules."""
    right = matrix if matrix.ndim == 2 else data.reshape(matrix, matrix.shape + (1,))
    inner = a.shape[-1]
    out_rows = a.shape[0] if len(a.shape) == 2 else 1
    out_columns = right.shape[1]
    shape = a.shape[:-1] + matrix.shape[1:]
    terms = []
    for term in a.terms:
        if not term.position_dependent:
            full = term.full_values(a.size)
            grid = data.reshape(full, (out_rows, inner, term.width))
            if out_rows == 1:
                product = data.matmul(data.transpose(right), data.reshape(grid, (inner, term.width)))
            else:
                moved = np.arange(out_rows * inner * term.width).reshape(out_rows, inner, term.width).transpose(0, 2, 1)
                by_row = data.take(grid, moved, False)  # (out_rows, width, inner)
                product = data.matmul(by_row, right)  # (out_rows, width, out_columns)
                back = (
                    np.arange(out_rows * term.width * out_columns)
                    .reshape(out_rows, term.width, out_columns)
                    .transpose(0, 2, 1)
                )
                product = data.take(product, back, False)
            terms.append(Term(term.cols, data.reshape(product, (out_rows * out_columns, term.width))))
            continue
        cols = term.cols.reshape(term.cols.shape[0], out_rows, 1, inner * term.width)
        cols = np.broadcast_to(cols, (cols.shape[0], out_rows, out_columns, inner * term.width))
        cols = cols.reshape(cols.shape[0], out_rows * out_columns, inner * term.width)
        if out_rows == 1:
            cols = cols[:, :1, :]
        full = term.full_values(a.size)
        per_row = data.reshape(full, (out_rows, 1, inner, term.width))
        weights = data.reshape(data.transpose(right), (1, out_columns, inner, 1))
        values = data.reshape(data.mul(per_row, weights), (out_rows * out_columns, inner * term.width))
        terms.append(Term(np.ascontiguousarray(cols), values))
    constant_part = data.matmul(a.constant, matrix) if a.constant is not None else None
    return Affine(shape, a.rows, tuple(terms), constant_part)


def reshape(a: Affine, shape: Shape) -> Affine:
    """The same entries (positions are row-major already) in another shape."""
    constant_part = data.reshape(a.constant, tuple(shape)) if a.constant is not None else None
    return Affine(tuple(shape), a.rows, a.terms, constant_part)
