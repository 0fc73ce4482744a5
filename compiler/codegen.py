"""Standard form to Python source: the function that builds Q, q, G, h, A, b from parameters.

The generated code is straight-line torch: one commented section per source construct,
each symbolic value computed once, index tables and constant matrices carried in a
compressed table at the end of the file. It imports only torch and optlayer.runtime.
"""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from optlayer.runtime.ops import encode_tables

from . import data
from .data import Data

if TYPE_CHECKING:
    from .standard_form import Entry, StandardForm

MATRICES = ("Q", "q", "G", "h", "A", "b")
_INDENT = "    "


class _Emitter:
    """Writes the statements of the build function, naming every node and table once."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[int, str] = {}
        self.tables: dict[str, np.ndarray] = {}
        self._table_ids: dict[int, tuple[np.ndarray, str]] = {}
        self._count = 0
        self.parameters: set[str] = set()

    def table(self, array: np.ndarray, prefix: str) -> str:
        """The name of ``array`` in the tables; the same array object always gets the same name."""
        known = self._table_ids.get(id(array))
        if known is not None and known[0] is array:
            return known[1]
        key = f"{prefix}{len(self.tables)}"
        self.tables[key] = np.asarray(array, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
        self._table_ids[id(array)] = (array, key)  # holding the array keeps its id from being reused
        return key

    def constant(self, array: np.ndarray) -> str:
        key = self.table(np.asarray(array, dtype=np.float64), "c")
        return f'_ops.const(_TABLES["{key}"], _dtype, _device)'

    def index(self, array: np.ndarray) -> str:
        key = self.table(np.asarray(array, dtype=np.int64), "i")
        return f'_ops.const(_TABLES["{key}"], _dtype, _device)'

    def value(self, root: Data) -> str:
        """The name of a local holding ``root``, emitting the statements it needs first."""
        for node in data.walk([root]):
            if id(node) in self.names:
                continue
            code = self._expression(node)
            if isinstance(node, data.Param):
                self.parameters.add(node.name)
            if isinstance(node, data.Param) or _is_simple(code):
                self.names[id(node)] = code
                continue
            self._count += 1
            name = f"_t{self._count}"
            self.lines.append(f"{name} = {code}")
            self.names[id(node)] = name
        return self.names[id(root)]

    def _expression(self, node: Data) -> str:
        args = [self.names[id(c)] for c in node.children()]
        if isinstance(node, data.Literal):
            value = node.scalar
            if node.rows is None and not node.shape and value is not None:
                return repr(value)
            return self.constant(node.value)
        if isinstance(node, (data.Binary, data.Elementwise, data.Concat)):
            looped = node.rows is not None
            aligned = [_aligned(a, c, node.ndim, looped) for a, c in zip(args, node.children())]
            if isinstance(node, data.Concat):
                return node.code(aligned)
            return node.code(aligned)
        if isinstance(node, data.MatMul):
            looped = node.rows is not None
            return node.code([_aligned(a, c, c.ndim, looped) for a, c in zip(args, node.children())])
        if isinstance(node, data.Take):
            flattened = node.x.ndim + (
                1 if node.x.rows is not None and node.rows is not None and node.index.ndim > node.ndim else 0
            )
            return f"_ops.take({args[0]}, {flattened}, {self.index(node.index)})"
        if isinstance(node, data.RowTake):
            return f"_ops.row_take({args[0]}, {node.ndim}, {self.index(node.index)})"
        if isinstance(node, data.RowSum):
            return f"_ops.row_sum({args[0]}, {node.ndim}, {self.index(node.parent)}, {node.rows})"
        if isinstance(node, data.Scatter):
            flattened = node.x.ndim + (1 if node.x.rows is not None else 0)
            return f"_ops.scatter({args[0]}, {flattened}, {self.index(node.index)}, {node.shape[0]})"
        return node.code(args)


def _aligned(code: str, node: Data, ndim: int, looped: bool) -> str:
    """``code`` indexed with None so that node lines up with a result of ``ndim`` logical axes."""
    missing = ndim - node.ndim + (1 if looped and node.rows is None else 0)
    if missing <= 0 or _is_number(code):
        return code
    target = code if _is_simple(code) else f"({code})"
    return f"{target}[..., {', '.join(['None'] * missing + [':'] * node.ndim)}]"


_CONSTANT = re.compile(r'_ops\.const\(_TABLES\["\w+"\], _dtype, _device\)\Z')


def _is_simple(code: str) -> bool:
    """A name, a number or a table constant: safe to repeat inline without parentheses."""
    return code.isidentifier() or _is_number(code) or bool(_CONSTANT.match(code))


def _is_number(code: str) -> bool:
    try:
        float(code)
    except ValueError:
        return False
    return True


def build_function(sf: StandardForm) -> tuple[str, dict[str, np.ndarray]]:
    """The source of ``qp_data(_p, _dtype, _device)`` and the tables it reads.

    Every name the function makes starts with ``_``, which no model name can.
    """
    emit = _Emitter()
    body = emit.lines
    grouped: dict[int, list[Entry]] = defaultdict(list)
    order: list[object] = []
    for entry in sf.entries:
        if entry.constant:
            continue
        key = id(entry.origin)
        if key not in grouped:
            order.append(entry.origin)
        grouped[key].append(entry)
    per_matrix: dict[str, list[str]] = defaultdict(list)
    for origin in order:
        entries = grouped[id(origin)]
        body.append("")
        body.append(f"# {_origin_comment(sf, origin, entries)}")
        for entry in entries:
            value = emit.value(entry.values)
            ndim = entry.values.ndim + (1 if entry.values.rows is not None else 0)
            per_matrix[entry.matrix].append(f"({value}, {ndim}, {emit.index(entry.index)})")
    if sf.objective_terms:
        body.append("")
        body.append("# the objective's constant term")
        terms = [emit.value(t) for t in sf.objective_terms]
        body.append(f"_constant = {sf.objective_constant!r} + " + " + ".join(terms))
    else:
        body.append(f"_constant = torch.tensor({sf.objective_constant!r}, dtype=_dtype, device=_device)")
    body.append("")
    for name in MATRICES:
        index, values = sf.constant_part(name)
        tables = f'_TABLES["{emit.table(index, "i")}"], _TABLES["{emit.table(values, "c")}"]'
        base = f"_ops.sparse({sf.shape_of(name)}, {tables}, _dtype, _device)"
        listed = ", ".join(per_matrix[name])
        body.append(f"_{name} = _ops.assemble({base}, [{listed}])")
    body.append("return _Q, _q, _G, _h, _A, _b, _constant")
    unpack = [f'{name} = _p["{name}"]' for name in sf.model.data if name in emit.parameters]
    lines = [
        "def qp_data(_p, _dtype, _device):",
        _INDENT + '"""Q, q, G, h, A, b and the objective\'s constant term for prepared parameters _p."""',
    ]
    lines += [_INDENT + line if line else "" for line in unpack + body]
    return "\n".join(lines) + "\n", emit.tables


def _origin_comment(sf: StandardForm, origin, entries: list[Entry]) -> str:
    where = f"line {origin.span.line}: " if getattr(origin, "span", None) is not None else ""
    targets = sorted({e.matrix for e in entries}, key=MATRICES.index)
    block = next((b for b in sf.blocks if b.origin is origin), None)
    rows = f" (rows {block.offset}:{block.offset + block.count} of {block.matrix})" if block else ""
    return f"{where}{origin.description}{rows} -> {', '.join(targets)}"


def module_source(sf: StandardForm, class_name: str = "Layer") -> str:
    """A standalone module: ``qp_data``, the parameter specs, the layer class and the tables."""
    function, tables = build_function(sf)
    specs = ",\n".join(_INDENT + _spec_source(d) for d in sf.model.data.values())
    parts = [
        '"""' + _header(sf) + '"""',
        "",
        "import torch",
        "",
        "from optlayer.runtime import ops as _ops",
        "from optlayer.runtime.layer import DualSpec, QPLayer, VariableSpec",
        "from optlayer.runtime.parameters import ParameterSpec",
        "",
        f"PARAMETERS = (\n{specs},\n)" if specs else "PARAMETERS = ()",
        f"SIZES = {{'n': {sf.n}, 'm': {sf.m}, 'p': {sf.p}}}",
        "",
        "",
        function,
        "",
        _layer_class(sf, class_name),
        "",
        "# Index tables and constant arrays (a compressed .npz), read by qp_data.",
        f'_TABLES = _ops.tables("{encode_tables(tables)}")',
        "",
    ]
    return "\n".join(parts)


def _layer_class(sf: StandardForm, class_name: str) -> str:
    variables = [s for s in sf.segments if not s.auxiliary]
    required = [d.name for d in sf.model.parameters if d.init is None]
    optional = [d.name for d in sf.model.parameters if d.init is not None]
    doc = [f"Solves {sf.model.source.filename} for a batch of parameter values (see the module docstring)."]
    doc.append("")
    doc.append(
        f"Call with {', '.join(required) or 'no required parameters'}"
        + (f"; optional: {', '.join(optional)}" if optional else "")
        + "."
    )
    doc.append(
        f"Returns a Solution with {', '.join(v.name for v in variables)}"
        + (f" and duals {', '.join(sf.duals)}" if sf.duals else "")
        + "."
    )
    lines = [f"class {class_name}(QPLayer):", _INDENT + '"""' + ("\n" + _INDENT).join(doc) + "\n" + _INDENT + '"""', ""]
    lines.append(_INDENT + "PARAMETERS = PARAMETERS")
    listed = "".join(f"\n{_INDENT * 2}VariableSpec({v.name!r}, {v.shape!r}, {v.offset})," for v in variables)
    lines.append(_INDENT + f"VARIABLES = ({listed}\n{_INDENT})")
    duals = "".join(
        f"\n{_INDENT * 2}DualSpec({d.label!r}, {d.pieces!r}, {d.shape!r}, {d.loop_rows!r})," for d in sf.duals.values()
    )
    lines.append(_INDENT + (f"DUALS = ({duals}\n{_INDENT})" if duals else "DUALS = ()"))
    lines.append(_INDENT + f"SENSE = {sf.sense!r}")
    lines.append(_INDENT + "qp_data = staticmethod(qp_data)")
    return "\n".join(lines) + "\n"


def _spec_source(d) -> str:
    default = None if d.init is None else (d.init.kind, tuple(float(a) for a in d.init.args))
    declared = f"{d.span.filename}:{d.span.line}:{d.span.column}"
    return (
        f"ParameterSpec({d.name!r}, {tuple(d.shape)!r}, frozenset({sorted(d.attributes)!r}), "
        f"{default!r}, {d.is_learnable!r}, {declared!r})"
    )


def _header(sf: StandardForm) -> str:
    text = sf.model.source.text.rstrip("\n").replace('"""', "'" * 3).replace("\\", "/")
    source = textwrap.indent(text, "    ")
    summary = textwrap.indent(sf.summary(), "    ")
    return (
        f"Generated by optlayer from {sf.model.source.filename}; regenerate it rather than editing it.\n\n"
        f"Model:\n\n{source}\n\nStandard form (minimize ½ zᵀQz + qᵀz subject to Gz <= h, Az = b):\n\n{summary}\n"
    )
