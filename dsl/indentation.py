"""Python-style indentation: turns leading whitespace into _INDENT and _DEDENT tokens.

Like lark's own Indenter, but an inconsistent dedent or an unmatched closing bracket is
reported as a located problem instead of an assertion, so no lark internals reach users.
"""

from __future__ import annotations

from collections.abc import Iterator

from lark import Token
from lark.lark import PostLex

TAB_WIDTH = 8
_OPENING = frozenset({"LPAR", "LSQB"})
_CLOSING = frozenset({"RPAR", "RSQB"})


class IndentationProblem(Exception):
    """A line's indentation matches no enclosing block; ``token`` is where it starts."""

    def __init__(self, message: str, token: Token) -> None:
        super().__init__(message)
        self.token = token


class Indentation(PostLex):
    """The post-lexer that the parser runs between lark's lexer and its LALR parser."""

    always_accept = ("_NEWLINE",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        levels = [0]
        brackets = 0
        last = None
        for token in stream:
            last = token
            if token.type == "_NEWLINE":
                if brackets:
                    continue
                yield token
                yield from _indentation_tokens(token, levels)
                continue
            yield token
            if token.type in _OPENING:
                brackets += 1
            elif token.type in _CLOSING and brackets:
                brackets -= 1
        while len(levels) > 1:
            levels.pop()
            yield Token.new_borrow_pos("_DEDENT", "", last) if last else Token("_DEDENT", "")


def _indentation_tokens(newline: Token, levels: list[int]) -> Iterator[Token]:
    """The _INDENT or _DEDENT tokens that the whitespace after ``newline`` calls for."""
    whitespace = newline.rsplit("\n", 1)[1]
    width = len(whitespace.expandtabs(TAB_WIDTH))
    if width > levels[-1]:
        levels.append(width)
        yield Token.new_borrow_pos("_INDENT", whitespace, newline)
        return
    while width < levels[-1]:
        levels.pop()
        yield Token.new_borrow_pos("_DEDENT", whitespace, newline)
    if width != levels[-1]:
        at = Token("_DEDENT", whitespace, line=newline.end_line, column=1)
        raise IndentationProblem("this line's indentation matches no enclosing block", at)
