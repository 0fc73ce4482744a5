"""Canonical pieces to the standard form's blocks: rows of G and A, and Q, q from the objective.

Each block is an *entry*: flat positions in one of Q, q, G, h, A, b (numpy, known at compile
time) and a Data node with one value per position. Values that are numeric constants are
added into the standard form's constant part instead, so the generated code computes only
what depends on parameters.
"""

from __future__ import annotations

import math

import numpy as np

from . import data
from .affine import Affine, Term
from .canonicalize import Canonical, Origin, SquareBlock
from .data import Data
from .standard_form import DualRecipe, Entry, RowBlock, StandardForm


class _Builder:
    def __init__(self, canonical: Canonical) -> None:
        self.canonical = canonical
        self.n = canonical.variable_count
        self.sizes = {"G": 0, "A": 0}
        self.blocks: list[RowBlock] = []
        self.pending: list[tuple[str, np.ndarray, np.ndarray | None, Data, Origin]] = []
        self.constant_objective: list[Data] = []

    # ---- constraints ----------------------------------------------------------------------

    def relations(self) -> list[RowBlock]:
        placed = []
        for relation in self.canonical.relations:
            matrix, vector = ("G", "h") if relation.kind == "<=" else ("A", "b")
            expr = relation.expr
            offset = self.sizes[matrix]
            count = expr.rows * expr.size
            self.sizes[matrix] += count
            block = RowBlock(matrix, offset, count, expr.shape, expr.rows, relation.origin)
            self.blocks.append(block)
            placed.append(block)
            rows = (offset + np.arange(count, dtype=np.int64)).reshape(expr.rows, expr.size, 1)
            for term in expr.terms:
                if np.any(term.cols < 0):
                    raise AssertionError("a quadratic term reached a constraint")
                self._term(matrix, rows, term, expr, relation.origin)
            if expr.constant is not None:
                value = _per_row(data.neg(expr.constant), expr.size, expr.rows)
                self.pending.append((vector, rows[..., 0], None, value, relation.origin))
        return placed

    def _term(self, matrix: str, rows: np.ndarray, term: Term, expr: Affine, origin: Origin) -> None:
        shape = (expr.rows, expr.size, term.width)
        cols = np.broadcast_to(term.cols, shape)
        values = term.full_values(expr.size)
        self.pending.append((matrix, np.broadcast_to(rows, shape), cols, _looped(values, expr.rows), origin))

    # ---- objective ------------------------------------------------------------------------

    def objective(self) -> None:
        objective = self.canonical.objective
        if objective is None:
            return
        origin = Origin("the objective", self.canonical.model.objective.span)
        virtual_terms = []
        for term in objective.terms:
            if np.all(term.cols >= 0):
                self.pending.append(("q", term.cols.reshape(-1), None, _flat(term.full_values(1)), origin))
            elif np.all(term.cols < 0):
                virtual_terms.append(term)
            else:
                raise AssertionError("a term mixes variables and squares")
        if objective.constant is not None:
            self.constant_objective.append(_rows_summed(objective.constant))
        if not self.canonical.squares:
            return
        for block in self.canonical.squares:
            per_block = _block_weights(block, virtual_terms)
            if per_block is None:
                continue
            if block.matrix is None:
                self._squares(block, per_block, origin)
            else:
                self._quadratic_form(block, data.reshape(per_block, ()), origin)

    def _squares(self, block: SquareBlock, weights: Data, origin: Origin) -> None:
        """Σ_r,p w[r,p] (e[r,p])²: Q += 2 Cᵀ diag(w) C, q += 2 Cᵀ diag(w) d, constant += Σ w d²."""
        expr = block.expr
        size, rows = expr.size, expr.rows
        for s in expr.terms:
            vs = s.full_values(size)
            for t in expr.terms:
                vt = t.full_values(size)
                if not s.position_dependent and not t.position_dependent:
                    uniform = _uniform(weights)
                    if uniform is not None:
                        value = data.mul(uniform, data.matmul(data.transpose(vs), vt))
                    else:
                        weighted = data.mul(vs, data.reshape(weights, (size, 1)))
                        value = data.matmul(data.transpose(weighted), vt)
                    index_rows, index_cols = s.cols[:, 0, :, None], t.cols[:, 0, None, :]
                else:
                    value = data.mul(
                        data.mul(data.reshape(vs, (size, s.width, 1)), data.reshape(vt, (size, 1, t.width))),
                        data.reshape(weights, (size, 1, 1)),
                    )
                    index_rows, index_cols = s.cols[:, :, :, None], t.cols[:, :, None, :]
                self._quadratic_entry(index_rows, index_cols, data.mul(data.literal(2.0), value), rows, origin)
        if expr.constant is None:
            return
        weighted_constant = data.mul(weights, data.reshape(expr.constant, (size,)))
        self._linear_part(expr, weighted_constant, origin)
        squares = data.mul(weighted_constant, data.reshape(expr.constant, (size,)))
        self.constant_objective.append(_rows_summed(data.reduce("sum", squares)))

    def _quadratic_form(self, block: SquareBlock, weights: Data, origin: Origin) -> None:
        """Σ_r w[r] e[r]ᵀ P e[r]: Q += 2 w Cᵀ P C, q += 2 w Cᵀ P d, constant += w dᵀ P d."""
        expr, matrix = block.expr, block.matrix
        size, rows = expr.size, expr.rows
        for s in expr.terms:
            vs = s.full_values(size)
            for t in expr.terms:
                vt = t.full_values(size)
                if not s.position_dependent and not t.position_dependent:
                    value = data.matmul(data.transpose(vs), data.matmul(matrix, vt))
                    index_rows, index_cols = s.cols[:, 0, :, None], t.cols[:, 0, None, :]
                elif s.position_dependent and not t.position_dependent:
                    mixed = data.matmul(matrix, vt)
                    value = data.mul(data.reshape(vs, (size, s.width, 1)), data.reshape(mixed, (size, 1, t.width)))
                    index_rows = s.cols[:, :, :, None]
                    index_cols = t.cols[:, 0, :].reshape(t.cols.shape[0], 1, 1, t.width)
                elif not s.position_dependent:
                    mixed = data.matmul(data.transpose(vs), matrix)
                    value = data.mul(data.reshape(mixed, (s.width, size, 1)), data.reshape(vt, (1, size, t.width)))
                    index_rows = s.cols[:, 0, :].reshape(s.cols.shape[0], s.width, 1, 1)
                    index_cols = t.cols.reshape(t.cols.shape[0], 1, size, t.width)
                else:
                    value = data.mul(
                        data.mul(data.reshape(vs, (size, s.width, 1, 1)), data.reshape(matrix, (size, 1, size, 1))),
                        data.reshape(vt, (1, 1, size, t.width)),
                    )
                    index_rows = s.cols.reshape(s.cols.shape[0], size, s.width, 1, 1)
                    index_cols = t.cols.reshape(t.cols.shape[0], 1, 1, size, t.width)
                weight = data.reshape(weights, (1,) * value.ndim)
                self._quadratic_entry(
                    index_rows, index_cols, data.mul(data.literal(2.0), data.mul(value, weight)), rows, origin
                )
        if expr.constant is None:
            return
        pushed = data.matmul(matrix, expr.constant)
        self._linear_part(expr, data.mul(data.reshape(weights, (1,)), pushed), origin)
        form = data.mul(weights, data.matmul(expr.constant, pushed))
        self.constant_objective.append(_rows_summed(form))

    def _linear_part(self, expr: Affine, coefficient: Data, origin: Origin) -> None:
        """q += 2 Cᵀ coefficient: the cross terms of a square or quadratic form with expr's constant."""
        size = expr.size
        for term in expr.terms:
            value = data.mul(term.full_values(size), data.reshape(coefficient, (size, 1)))
            cols = term.cols
            if not term.position_dependent:
                value, cols = data.reduce("sum", value, 0), cols[:, 0, :]
            self._linear_entry(cols, data.mul(data.literal(2.0), value), expr.rows, origin)

    def _quadratic_entry(
        self, index_rows: np.ndarray, index_cols: np.ndarray, value: Data, rows: int, origin: Origin
    ) -> None:
        shape = np.broadcast_shapes(index_rows.shape, index_cols.shape, (rows,) + value.shape)
        shape = (rows,) + shape[1:]
        self.pending.append(
            (
                "Q",
                np.broadcast_to(index_rows, shape),
                np.broadcast_to(index_cols, shape),
                _looped(value, rows, shape[1:]),
                origin,
            )
        )

    def _linear_entry(self, cols: np.ndarray, value: Data, rows: int, origin: Origin) -> None:
        shape = np.broadcast_shapes(cols.shape, (rows,) + value.shape)
        shape = (rows,) + shape[1:]
        self.pending.append(("q", np.broadcast_to(cols, shape), None, _looped(value, rows, shape[1:]), origin))

    # ---- result ---------------------------------------------------------------------------

    def build(self) -> StandardForm:
        blocks = self.relations()
        self.objective()
        entries = []
        for matrix, rows, cols, value, origin in self.pending:
            index = rows.astype(np.int64) if cols is None else rows.astype(np.int64) * self.n + cols
            entries.append(Entry(matrix, np.ascontiguousarray(index), value, origin))
        constant = 0.0
        parametric = []
        for term in self.constant_objective:
            if isinstance(term, data.Literal):
                constant += float(np.sum(term.value))
            else:
                parametric.append(term)
        duals = {}
        for label, (parts, shape, loop_rows) in self.canonical.duals.items():
            pieces = tuple(
                (blocks[p.relation].matrix, blocks[p.relation].offset, blocks[p.relation].count, p.sign) for p in parts
            )
            duals[label] = DualRecipe(label, pieces, shape, loop_rows)
        return StandardForm(
            model=self.canonical.model,
            segments=tuple(self.canonical.segments),
            blocks=tuple(self.blocks),
            entries=tuple(entries),
            sizes=(self.n, self.sizes["G"], self.sizes["A"]),
            objective_constant=constant,
            objective_terms=tuple(parametric),
            duals=duals,
        )


def assemble(canonical: Canonical) -> StandardForm:
    return _Builder(canonical).build()


def _per_row(value: Data, size: int, rows: int) -> Data:
    """A constant of an expression's shape as (size,) per row, looped over ``rows``."""
    flat = data.reshape(value, (size,))
    return data.broadcast(flat, (size,), rows)


def _looped(value: Data, rows: int, shape: tuple[int, ...] | None = None) -> Data:
    """``value`` broadcast to every iteration row (and to ``shape``), so that it lines up with an index table."""
    return data.broadcast(value, tuple(shape) if shape is not None else value.shape, rows)


def _flat(value: Data) -> Data:
    return data.reshape(value, (math.prod(value.shape),))


def _rows_summed(value: Data) -> Data:
    """A scalar summed over its iteration rows (if any)."""
    value = data.reduce("sum", value)
    if value.rows is None:
        return value
    return data.row_sum(value, np.zeros(value.rows, dtype=np.int64), 1)


def _block_weights(block: SquareBlock, terms: list[Term]) -> Data | None:
    """The objective's coefficient of each of a block's virtual coordinates, shaped per row.

    None when the objective does not use the block. When one term holds exactly the block's
    coordinates in order (``gamma * sum_squares(...)``), its values are the weights as they are.
    """
    first, count = block.first, block.count
    per_row = (block.expr.rows, count // block.expr.rows)
    touching = []
    for term in terms:
        coordinates = -(term.cols.reshape(-1) + 1)
        inside = (coordinates >= first) & (coordinates < first + count)
        if inside.any():
            touching.append((term, coordinates, inside))
    if not touching:
        return None
    if len(touching) == 1:
        term, coordinates, inside = touching[0]
        if inside.all() and np.array_equal(coordinates, first + np.arange(count)):
            return _as_rows(_flat(term.full_values(1)), per_row)
    total: Data = data.literal(np.zeros(count))
    for term, coordinates, inside in touching:
        values = data.take(_flat(term.full_values(1)), np.flatnonzero(inside), False)
        total = data.add(total, data.scatter(values, coordinates[inside] - first, count))
    return _as_rows(total, per_row)


def _as_rows(weights: Data, per_row: tuple[int, int]) -> Data:
    """Flat weights (rows · positions,) as positions per iteration row."""
    rows, positions = per_row
    if rows == 1:
        return data.reshape(weights, (positions,))
    return data.take(weights, np.arange(rows * positions).reshape(rows, positions), True)


def _uniform(weights: Data) -> Data | None:
    """The single value of weights that are one scalar broadcast, else None."""
    node = weights
    while isinstance(node, (data.Reshape, data.Broadcast)):
        node = node.x
    if node.size == 1:
        return data.reshape(node, ())
    if isinstance(node, data.Literal) and node.scalar is not None:
        return data.literal(node.scalar)
    return None
