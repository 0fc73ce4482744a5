"""The root of optlayer's error hierarchy.

It lives apart from the pipeline stages so that every stage (the language front end, the
compiler and the runtime that generated layers call) can raise errors that a user catches
with one ``except optlayer.OptError``. It imports nothing.
"""

from __future__ import annotations


class OptError(Exception):
    """Base of every user-facing optlayer error.

    ``filename``, ``line`` and ``column`` (1-based) say where the problem is; they are ``None``
    when it is not in a model's source (for example a wrong tensor passed to a layer).
    ``message`` is the one-line problem and ``hint`` what would be accepted instead.
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        text = self.message
        if self.filename is not None:
            where = self.filename
            if self.line is not None:
                where += f":{self.line}:{self.column}"
            text = f"{where}: error: {text}"
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text
