"""What a model became: the standard form as text, LaTeX and a JSON-ready dict."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy

from . import data

if TYPE_CHECKING:
    from .canonicalize import Origin, Segment
    from .standard_form import Entry, StandardForm

_MATRICES = ("Q", "q", "G", "h", "A", "b")


def summary(sf: StandardForm) -> str:
    """Sizes, the layout of z, and where the rows of G and A come from."""
    lines = [
        f"n = {sf.n} variables, m = {sf.m} inequalities (G z <= h), p = {sf.p} equalities (A z = b)",
        "",
        "z layout:",
    ]
    for segment in sf.segments:
        lines.append(f"  z[{segment.offset}:{segment.offset + segment.size}]  {_segment_words(segment)}")
    for matrix in ("A", "G"):
        blocks = [b for b in sf.blocks if b.matrix == matrix]
        if blocks:
            lines += ["", f"rows of {matrix}:"]
            lines += [f"  {matrix}[{b.offset}:{b.offset + b.count}]  {_origin_words(b.origin, b.rows)}" for b in blocks]
    return "\n".join(lines)


def text(sf: StandardForm) -> str:
    """The whole standard form: the summary, then every block with its expression and source."""
    objective = "maximize" if sf.sense == "maximize" else "minimize"
    lines = [
        f"Standard form of {sf.model.source.filename}",
        "",
        "  minimize    ½ zᵀ Q z + qᵀ z"
        + (f" + {sf.objective_constant:g}" if sf.objective_constant else "")
        + (" + (parameter-dependent constant)" if sf.objective_terms else ""),
        "  subject to  G z <= h",
        "              A z  = b",
    ]
    if objective == "maximize":
        lines.append("  (the model maximizes; the standard form minimizes the negated objective)")
    lines += ["", summary(sf), "", "blocks:"]
    for origin, entries in _by_origin(sf):
        lines.append(f"  {_origin_words(origin, None)}")
        for entry in entries:
            lines.append(f"    {_entry_target(sf, entry)} {_assign(entry)} {_value_text(entry)}")
    return "\n".join(lines)


def latex(sf: StandardForm) -> str:
    """The standard form as a LaTeX ``aligned`` environment, one line per block."""
    lines = [
        r"\begin{aligned}",
        r"&\text{minimize} && \tfrac12 z^\top Q z + q^\top z \\",
        r"&\text{subject to} && G z \le h,\quad A z = b \\[4pt]",
    ]
    for segment in sf.segments:
        name = _latex_text(segment.name)
        lines.append(
            rf"&z_{{{segment.offset}:{segment.offset + segment.size}}} && = {name} \quad \text{{({_latex_text(_segment_kind(segment))})}} \\"
        )
    for origin, entries in _by_origin(sf):
        lines.append(rf"&\text{{{_latex_text(_origin_words(origin, None))}}} \\")
        for entry in entries:
            target = _latex_text(_entry_target(sf, entry))
            operator = "=" if entry.matrix in "GAhb" else r"\mathrel{+}="
            lines.append(rf"&\quad \texttt{{{target}}} && {operator} {_value_latex(entry.values)} \\")
    lines.append(r"\end{aligned}")
    return "\n".join(lines)


def as_dict(sf: StandardForm) -> dict:
    """Everything in the standard form that JSON can hold: sizes, layout, blocks with their tags."""
    return {
        "source": sf.model.source.filename,
        "sense": sf.sense,
        "sizes": {"n": sf.n, "m": sf.m, "p": sf.p},
        "variables": [
            {
                "name": s.name,
                "shape": list(s.shape),
                "iterations": s.rows,
                "offset": s.offset,
                "size": s.size,
                "auxiliary": s.auxiliary,
                "origin": _origin_dict(s.origin),
            }
            for s in sf.segments
        ],
        "rows": [
            {
                "matrix": b.matrix,
                "start": b.offset,
                "stop": b.offset + b.count,
                "shape": list(b.shape),
                "iterations": b.rows,
                "origin": _origin_dict(b.origin),
            }
            for b in sf.blocks
        ],
        "blocks": [
            {
                "matrix": e.matrix,
                "variables": [s.name for s in _entry_segments(sf, e)],
                "expression": data.render(e.values),
                "latex": _value_latex(e.values),
                "constant": e.constant,
                "entries": int(e.index.size),
                "origin": _origin_dict(e.origin),
            }
            for e in sf.entries
        ],
        "duals": {
            label: {
                "pieces": [list(p) for p in recipe.pieces],
                "shape": list(recipe.shape),
                "iterations": recipe.loop_rows,
            }
            for label, recipe in sf.duals.items()
        },
        "objective_constant": sf.objective_constant,
    }


# ---- helpers ------------------------------------------------------------------------------------


def _by_origin(sf: StandardForm) -> list[tuple[Origin, list[Entry]]]:
    groups: dict[int, tuple[Origin, list[Entry]]] = {}
    for entry in sf.entries:
        groups.setdefault(id(entry.origin), (entry.origin, []))[1].append(entry)
    return list(groups.values())


def _segment_kind(segment: Segment) -> str:
    return "auxiliary" if segment.auxiliary else "variable"


def _segment_words(segment: Segment) -> str:
    shape = "×".join(map(str, segment.shape)) or "scalar"
    per = f", {segment.rows} iterations" if segment.rows > 1 else ""
    if not segment.auxiliary:
        return f"{segment.name}  ({shape}) variable, line {segment.origin.span.line}"
    return f"{segment.name}  ({shape}{per}) {segment.origin.description}, line {segment.origin.span.line}"


def _origin_words(origin: Origin, rows: int | None) -> str:
    line = f"line {origin.span.line}: " if origin.span is not None else ""
    label = f" [{origin.label}]" if origin.label else ""
    loop = ""
    if origin.loop_names and origin.loop_values is not None and len(origin.loop_values):
        ranges = ", ".join(
            f"{name} = {int(values.min())}…{int(values.max())}"
            for name, values in zip(origin.loop_names, origin.loop_values.T)
        )
        loop = f", for {ranges} ({len(origin.loop_values)} iterations)"
    return f"{line}{origin.description}{label}{loop}"


def _origin_dict(origin: Origin) -> dict:
    span = origin.span
    result = {
        "description": origin.description,
        "label": origin.label,
        "line": span.line if span is not None else None,
        "column": span.column if span is not None else None,
    }
    if origin.loop_names and origin.loop_values is not None:
        result["loop"] = {"indices": list(origin.loop_names), "values": origin.loop_values.tolist()}
    return result


def _entry_segments(sf: StandardForm, entry: Entry) -> list[Segment]:
    if entry.matrix in ("h", "b"):
        return []
    columns = entry.index.reshape(-1) % sf.n
    return sf.segment_of(columns)


def _entry_target(sf: StandardForm, entry: Entry) -> str:
    names = ", ".join(s.name for s in _entry_segments(sf, entry))
    if entry.matrix == "Q":
        return f"Q[{names}; {names}]" if names else "Q"
    if entry.matrix in ("G", "A", "q"):
        return f"{entry.matrix}[{names}]"
    return entry.matrix


def _assign(entry: Entry) -> str:
    return "+=" if entry.matrix in ("Q", "q") else "="


def _value_text(entry: Entry) -> str:
    shape = entry.values.shape
    if len(shape) >= 2 and min(shape[-2:]) > 1:
        size = "×".join(map(str, shape))
    else:
        count = entry.index.size // (entry.values.rows or 1)
        size = f"{count} entr{'y' if count == 1 else 'ies'}"
    per = f" per iteration ×{entry.values.rows}" if entry.values.rows is not None and entry.values.rows > 1 else ""
    kind = "constant" if entry.constant else "parametric"
    return f"{data.render(entry.values)}    [{size}{per}, {kind}]"


def _value_latex(node: data.Data) -> str:
    try:
        return sympy.latex(data.to_sympy(node))
    except (TypeError, ValueError, AttributeError, sympy.ShapeError):
        return data.render(node, "latex")


def _latex_text(text: str) -> str:
    replacements = {
        "\\": r"\textbackslash{}",
        "_": r"\_",
        "&": r"\&",
        "%": r"\%",
        "#": r"\#",
        "{": r"\{",
        "}": r"\}",
        "$": r"\$",
        "^": r"\^{}",
        "~": r"\~{}",
    }
    replacements.update({"…": r"\ldots{}", "×": r"$\times$", "·": r"$\cdot$"})
    return "".join(replacements.get(c, c) for c in text).replace("`", "")
