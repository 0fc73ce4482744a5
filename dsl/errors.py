"""Located errors for .opt sources: what is wrong, where, and what would be accepted instead.

Every error renders as::

    model.opt:12:10: error: unknown name `muu`
       12 | minimize gamma * sum_squares(F @ w) - muu @ w
          |                                       ^^^
    hint: did you mean `mu`?
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from optlayer.errors import OptError

from .source import Span


class SourceError(OptError):
    """An error at a place in a model's source. ``notes`` are secondary places with a remark."""

    def __init__(
        self,
        message: str,
        span: Span,
        *,
        hint: str | None = None,
        notes: Sequence[tuple[str, Span]] = (),
    ) -> None:
        super().__init__(message, filename=span.filename, line=span.line, column=span.column, hint=hint)
        self.span = span
        self.end_line = span.end_line
        self.end_column = span.end_column
        self.notes = tuple(notes)

    def __str__(self) -> str:
        lines = [f"{self.filename}:{self.line}:{self.column}: error: {self.message}"]
        lines += _excerpt(self.span)
        for remark, span in self.notes:
            lines.append(f"note: {remark} ({span.filename}:{span.line}:{span.column})")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


def _excerpt(span: Span) -> list[str]:
    """The source line of ``span`` with a caret underline (first line only for multi-line spans)."""
    text = span.source.line(span.line).expandtabs(1).rstrip("\r")
    if not text.strip():
        return []
    end = span.end_column if span.end_line == span.line else len(text) + 1
    width = max(1, min(end, len(text) + 1) - span.column)
    gutter = f"{span.line:>5} | "
    return [gutter + text, " " * (len(gutter) - 2) + "| " + " " * (span.column - 1) + "^" * width]


class OptSyntaxError(SourceError):
    """The text is not a sentence of the language."""


class OptNameError(SourceError):
    """A name is unknown, declared twice, shadows another, or is reserved."""


class OptShapeError(SourceError):
    """Shapes do not fit together (broadcasting, ``@``, stacking, function arguments)."""


class OptIndexError(SourceError):
    """An index or slice falls outside the axis it selects from."""


class DimensionError(SourceError):
    """A dimension has no value at compile time, or an invalid one."""


class DeclarationError(SourceError):
    """A declaration's shape, attributes or default value is invalid."""


class ExpressionError(SourceError):
    """An expression is well formed but means nothing here (wrong kind of operand or argument)."""


class ModelTooLargeError(SourceError):
    """A size, loop or nesting depth beyond what optlayer accepts."""


class ModelErrors(OptError):
    """Several independent errors found in one run; ``errors`` holds them in source order.

    ``filename``, ``line`` and ``column`` are those of the first.
    """

    def __init__(self, errors: Iterable[OptError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.line or 0, e.column or 0))
        if not self.errors:
            raise ValueError("ModelErrors needs at least one error")
        first = self.errors[0]
        super().__init__(first.message, filename=first.filename, line=first.line, column=first.column, hint=first.hint)

    def __str__(self) -> str:
        count = len(self.errors)
        summary = f"{count} error{'s' if count > 1 else ''} in {self.filename}"
        return "\n\n".join([*(str(e) for e in self.errors), summary])


def raise_collected(errors: Sequence[OptError]) -> None:
    """Raise nothing, the single error, or a ModelErrors holding them all."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ModelErrors(errors)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidates to a misspelled ``name``, if any are close."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(f"`{m}`" for m in matches) + "?"
