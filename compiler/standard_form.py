"""The QP standard form of a model, symbolic in its parameters.

    minimize    ½ zᵀ Q z + qᵀ z (+ a constant)
    subject to  G z <= h
                A z  = b

z stacks the user variables and the auxiliary variables that reformulations add
(``segments``). Every block of Q, q, G, h, A, b is an ``Entry``: flat positions in one
matrix and a Data node with the values, tagged with the source construct (and loop
iterations) that produced it. ``evaluate`` gives the tensors for parameter values, through
the same generated code a layer runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from optlayer.dsl.model import CheckedModel

from . import codegen, views
from .canonicalize import Origin, Segment
from .data import Data, Literal


@dataclass(frozen=True)
class Entry:
    """Values for the flat positions ``index`` of one of Q, q, G, h, A, b."""

    matrix: str
    index: np.ndarray
    values: Data
    origin: Origin

    @property
    def constant(self) -> bool:
        return isinstance(self.values, Literal)


@dataclass(frozen=True)
class RowBlock:
    """Rows offset … offset + count - 1 of G or A: one row per iteration and position of a relation."""

    matrix: str
    offset: int
    count: int
    shape: tuple[int, ...]
    rows: int
    origin: Origin


@dataclass(frozen=True)
class DualRecipe:
    """How to read a named constraint's dual from the multipliers.

    ``pieces`` are (matrix, offset, count, sign): the multipliers of those rows, times sign,
    shaped (loop_rows, *shape) — or (*shape) outside loops; a chain of k comparisons stacks
    k of them along a first axis.
    """

    label: str
    pieces: tuple[tuple[str, int, int, int], ...]
    shape: tuple[int, ...]
    loop_rows: int | None


class QPData(NamedTuple):
    Q: object
    q: object
    G: object
    h: object
    A: object
    b: object


@dataclass
class StandardForm:
    model: CheckedModel
    segments: tuple[Segment, ...]
    blocks: tuple[RowBlock, ...]
    entries: tuple[Entry, ...]
    sizes: tuple[int, int, int]
    objective_constant: float
    objective_terms: tuple[Data, ...]
    duals: dict[str, DualRecipe]
    _module: dict | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Entries of z."""
        return self.sizes[0]

    @property
    def m(self) -> int:
        """Rows of G and h."""
        return self.sizes[1]

    @property
    def p(self) -> int:
        """Rows of A and b."""
        return self.sizes[2]

    def shape_of(self, matrix: str) -> tuple[int, ...]:
        """The shape of Q, q, G, h, A or b."""
        n, m, p = self.sizes
        return {"Q": (n, n), "q": (n,), "G": (m, n), "h": (m,), "A": (p, n), "b": (p,)}[matrix]

    def constant_part(self, matrix: str) -> tuple[np.ndarray, np.ndarray]:
        """The parameter-free entries of one matrix: flat positions and values (repeats add up)."""
        entries = [e for e in self.entries if e.matrix == matrix and e.constant]
        if not entries:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index = np.concatenate([e.index.reshape(-1) for e in entries])
        values = np.concatenate([np.broadcast_to(e.values.value, e.index.shape).reshape(-1) for e in entries])
        keep = values != 0
        return index[keep], values[keep]

    @property
    def sense(self) -> str:
        return self.model.objective.sense if self.model.objective is not None else "minimize"

    def variable(self, name: str) -> Segment:
        return next(s for s in self.segments if s.name == name and not s.auxiliary)

    def segment_of(self, columns: np.ndarray) -> list[Segment]:
        """The segments that the z columns ``columns`` fall in, in z order."""
        starts = np.array([s.offset for s in self.segments])
        found = np.unique(np.searchsorted(starts, np.unique(columns), side="right") - 1)
        return [self.segments[i] for i in found]

    # ---- evaluation ---------------------------------------------------------------------------

    def source(self, class_name: str = "Layer") -> str:
        """The generated module (``qp_data``, the parameter specs and the layer class ``class_name``).

        It imports only torch and optlayer.runtime.
        """
        return codegen.module_source(self, class_name)

    def evaluate(self, **params) -> QPData:
        """Q, q, G, h, A, b for these parameter values (and learnables), batched and differentiable.

        Omitted parameters take their declared defaults; learnables with a random
        initialization must be passed.
        """
        Q, q, G, h, A, b, _ = self._data(params)
        return QPData(Q, q, G, h, A, b)

    def constant(self, **params):
        """The objective's constant term (dropped from ½ zᵀQz + qᵀz) for these parameter values."""
        return self._data(params)[6]

    def _data(self, params: dict) -> tuple:
        from optlayer.runtime.parameters import prepare

        module = self._compiled()
        prepared = prepare(module["PARAMETERS"], params)
        return module["qp_data"](prepared.values, prepared.dtype, prepared.device)

    def _compiled(self) -> dict:
        if self._module is None:
            namespace: dict = {"__name__": f"optlayer_standard_form_{id(self)}"}
            exec(compile(self.source(), f"<optlayer: {self.model.source.filename}>", "exec"), namespace)
            self._module = namespace
        return self._module

    # ---- views ----------------------------------------------------------------------------------

    def summary(self) -> str:
        return views.summary(self)

    def __str__(self) -> str:
        return views.text(self)

    def latex(self) -> str:
        return views.latex(self)

    def to_dict(self) -> dict:
        return views.as_dict(self)
