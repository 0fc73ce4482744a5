"""Source text and spans: where every AST node came from, for located error messages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A model's text and the name it is reported under (a path, or ``<string>``)."""

    text: str
    filename: str = "<string>"

    def line(self, number: int) -> str:
        """The 1-based line ``number`` without its line break ('' past the end)."""
        lines = self.text.splitlines()
        return lines[number - 1] if 1 <= number <= len(lines) else ""


@dataclass(frozen=True)
class Span:
    """A region of a source: 1-based lines and columns, the end column exclusive."""

    source: Source
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def filename(self) -> str:
        return self.source.filename

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of ``other``."""
        return Span(self.source, self.line, self.column, other.end_line, other.end_column)

    def text(self) -> str:
        """The source text this span covers."""
        lines = self.source.text.splitlines()[self.line - 1 : self.end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][self.column - 1 : self.end_column - 1]
        lines[0] = lines[0][self.column - 1 :]
        lines[-1] = lines[-1][: self.end_column - 1]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Span({self.filename}:{self.line}:{self.column}-{self.end_line}:{self.end_column})"
