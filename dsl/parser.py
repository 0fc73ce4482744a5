"""Text to syntax tree: the lark grammar in opt.lark, located syntax errors, and recovery.

When the whole text does not parse, each top-level statement (and each item of a
``subject to`` block) is parsed on its own, so that one run reports every independent
syntax error. No lark exception ever leaves this module.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark.visitors import v_args

from . import ast
from .errors import ModelTooLargeError, OptSyntaxError, SourceError, raise_collected
from .indentation import Indentation, IndentationProblem
from .source import Source, Span

MAX_NESTING = 64
"""Deepest nesting of expressions (parentheses, calls, subscripts) accepted in a model."""

_GRAMMAR = Path(__file__).with_name("opt.lark")
_STARTING_WORDS = frozenset(
    {"dimension", "parameter", "learnable", "variable", "let", "minimize", "maximize", "subject", "for"}
)
_STATEMENT_KEYWORDS = ("dimension", "parameter", "learnable", "variable", "let", "minimize", "maximize", "subject to")
_TOKEN_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "_NEWLINE": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the indented block",
    "$END": "the end of the file",
}
_OPERATOR_WORDS = frozenset(
    f"`{op}`" for op in ("+", "-", "*", "/", "@", "//", "%", "**", "<=", ">=", "==", "<", ">", "!=", "=", ".", "[")
)


_PARSING = threading.RLock()


@functools.cache
def _lark() -> Lark:
    return Lark(
        _GRAMMAR.read_text(),
        parser="lalr",
        lexer="contextual",
        postlex=Indentation(),
        maybe_placeholders=True,
        start=["start", "block_item"],
        transformer=_BUILDER,
    )


def _parse(text: str, start: str, source: Source, line_offset: int = 0, column_offset: int = 0):
    """Parse ``text`` (all of ``source``, or a piece of it at the given offset) straight to AST nodes."""
    with _PARSING:
        _BUILDER.bind(source, line_offset, column_offset)
        return _lark().parse(text, start=start)


def parse(text: str, filename: str = "<string>") -> ast.Module:
    """Parse a model's text; raise OptSyntaxError (or ModelErrors for several) when it is not valid."""
    source = Source(text, filename)
    padded = text if text.endswith("\n") else text + "\n"
    try:
        statements = _parse(padded, "start", source)
    except (LarkError, IndentationProblem, SourceError):
        raise_collected(list(_recover_errors(source, padded)) or [_parse_error(source, padded, "start", 0, 0)])
    module = ast.Module(source, tuple(statements))
    _check_nesting(module)
    return module


# ---- error recovery ----------------------------------------------------------------


def _recover_errors(source: Source, text: str) -> Iterator[SourceError]:
    """The first syntax error of every top-level statement, and of every item of a constraint block."""
    lines = text.splitlines(keepends=True)
    for first, last in _segments(lines, indent=0):
        error = _parse_error(source, "".join(lines[first:last]), "start", first, 0)
        if error is None:
            continue
        header = lines[first].split("#", 1)[0].split()
        body = [i for i in range(first + 1, last) if lines[i].split("#", 1)[0].strip()]
        if header != ["subject", "to"] or not body:
            yield error
            continue
        indent = len(lines[body[0]]) - len(lines[body[0]].lstrip(" \t"))
        item_errors = []
        for item_first, item_last in _segments(lines[body[0] : last], indent):
            item_lines = lines[body[0] + item_first : body[0] + item_last]
            item = "".join(_dedent(line, indent) for line in item_lines)
            item_error = _parse_error(source, item, "block_item", body[0] + item_first, indent)
            if item_error is not None:
                item_errors.append(item_error)
        yield from item_errors or [error]


def _dedent(line: str, indent: int) -> str:
    if len(line) > indent and line[:indent].isspace():
        return line[indent:]
    return line.lstrip(" \t")


def _segments(lines: list[str], indent: int) -> Iterator[tuple[int, int]]:
    """Index ranges of the statements that start at column ``indent`` or less.

    A line continues the statement before it while brackets are open or after a trailing backslash.
    """
    depth = 0
    continued = False
    start = None
    for i, line in enumerate(lines):
        code = line.split("#", 1)[0]
        column = len(code) - len(code.lstrip(" \t"))
        keyword = code.split(None, 1)[0] if code.strip() else ""
        if column <= indent and keyword in _STARTING_WORDS:
            depth, continued = 0, False
        if code.strip() and not depth and not continued and (column <= indent or start is None):
            if start is not None:
                yield start, i
            start = i
        depth = max(0, depth + sum(code.count(c) for c in "([") - sum(code.count(c) for c in ")]"))
        continued = code.rstrip().endswith("\\")
    if start is not None:
        yield start, len(lines)


def _parse_error(source: Source, text: str, start: str, line_offset: int, column_offset: int) -> SourceError | None:
    """The syntax error in ``text`` (a piece of ``source``), located in the whole source; None if it parses."""
    try:
        _parse(text, start, source, line_offset, column_offset)
    except IndentationProblem as problem:
        span = _span(source, problem.token.line + line_offset, 1, problem.token.line + line_offset, 2)
        return OptSyntaxError(str(problem), span, hint="indent every line of a block by the same amount")
    except UnexpectedInput as error:
        return _unclosed_bracket(source, text, error, line_offset, column_offset) or _syntax_error(
            source, text, error, line_offset, column_offset
        )
    except SourceError as error:
        return error
    except LarkError as error:  # pragma: no cover - lark reports every input error as UnexpectedInput
        span = _span(source, line_offset + 1, 1, line_offset + 1, 2)
        return OptSyntaxError(f"cannot parse this: {error}", span)
    return None


def _unclosed_bracket(
    source: Source, text: str, error: UnexpectedInput, line_offset: int, column_offset: int
) -> OptSyntaxError | None:
    """An error about a bracket still open where parsing failed on a later line or at the end."""
    lines = text.splitlines()
    token = getattr(error, "token", None)
    at_end = token is None or token.type == "$END"
    error_line = len(lines) if at_end or not error.line or error.line < 1 else error.line
    open_brackets: list[tuple[int, int, str]] = []
    for number, line in enumerate(lines[:error_line], start=1):
        code = line.split("#", 1)[0]
        if number == error_line and not at_end:
            code = code[: max(0, error.column - 1)]
        for column, char in enumerate(code, start=1):
            if char in "([":
                open_brackets.append((number, column, char))
            elif char in ")]" and open_brackets:
                open_brackets.pop()
    if not open_brackets or (open_brackets[-1][0] == error_line and not at_end):
        return None
    number, column, char = open_brackets[-1]
    closing = ")" if char == "(" else "]"
    line, column = number + line_offset, column + column_offset
    span = _span(source, line, column, line, column + 1)
    return OptSyntaxError(f"`{char}` is never closed", span, hint=f"add the missing `{closing}`")


def _syntax_error(
    source: Source, text: str, error: UnexpectedInput, line_offset: int, column_offset: int
) -> OptSyntaxError:
    expected = _acceptable(error)
    if isinstance(error, UnexpectedCharacters):
        line, column = error.line + line_offset, error.column + column_offset
        char = source.line(line)[column - 1 : column] or "?"
        span = _span(source, line, column, line, column + 1)
        return OptSyntaxError(f"unexpected character `{char}`", span, hint=_explain_expected(expected))
    token = getattr(error, "token", None)
    if isinstance(error, UnexpectedEOF) or token is None or token.type == "$END":
        last = line_offset + max(1, len(text.splitlines()))
        end = len(source.line(last)) + 1
        span = _span(source, last, max(1, end - 1), last, end)
        if "_INDENT" in expected:
            return _missing_block(span)
        return OptSyntaxError("unexpected end of the file", span, hint=_explain_expected(expected))
    return _unexpected_token(source, token, expected, line_offset, column_offset)


def _acceptable(error: UnexpectedInput) -> set[str]:
    """The tokens the parser would have accepted: exact when lark can tell, else its LALR estimate."""
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        try:
            return set(interactive.accepts())
        except LarkError:
            pass
    return set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())


def _unexpected_token(
    source: Source, token: Token, expected: set[str], line_offset: int, column_offset: int
) -> OptSyntaxError:
    if token.type in ("_NEWLINE", "_DEDENT"):
        line = token.line + line_offset
        end = len(source.line(line)) + 1
        span = _span(source, line, max(1, end - 1), line, end)
        if "_INDENT" in expected:
            return _missing_block(span)
        return OptSyntaxError("this line ends too early", span, hint=_explain_expected(expected))
    line, column = token.line + line_offset, token.column + column_offset
    if token.type == "_INDENT":
        line = token.end_line + line_offset
        text = source.line(line)
        column = len(text) - len(text.lstrip(" \t")) + 1
        span = _span(source, line, column, line, column + 1)
        return OptSyntaxError(
            "unexpected indentation", span, hint="only the lines of a `subject to` or `for` block are indented"
        )
    span = _span(source, line, column, line, column + max(1, len(token.value)))
    at_statement_start = "DIMENSION" in expected or "SUBJECT" in expected
    if at_statement_start and token.type in ("NAME", "NUMBER", "LPAR", "MINUS", "FOR"):
        return OptSyntaxError(
            "a statement must start with " + ", ".join(f"`{k}`" for k in _STATEMENT_KEYWORDS),
            span,
            hint="constraints (and `for` blocks of them) go in an indented block under `subject to`",
        )
    return OptSyntaxError(f"unexpected {_describe_token(token)}", span, hint=_explain_expected(expected))


def _missing_block(span: Span) -> OptSyntaxError:
    return OptSyntaxError(
        "an indented block must follow this line",
        span,
        hint="indent the constraints under `subject to` (or under `for ...:`) by four spaces",
    )


def _describe_token(token: Token) -> str:
    if token.type == "NAME":
        return f"name `{token.value}`"
    if token.type == "NUMBER":
        return f"number `{token.value}`"
    return f"`{token.value}`"


def _explain_expected(names: set[str] | frozenset[str] | None) -> str | None:
    if not names:
        return None
    words = {_terminal_words(n) for n in names}
    operators = words & _OPERATOR_WORDS
    if len(operators) > 2:
        words = (words - operators) | {"an operator"}
    ordered = sorted(words, key=lambda w: (w.startswith("`"), w))
    if len(ordered) == 1:
        return f"expected {ordered[0]}"
    return "expected " + ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _terminal_words(name: str) -> str:
    if name in _TOKEN_WORDS:
        return _TOKEN_WORDS[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    return f"`{pattern.value}`" if pattern.type == "str" else name.lower()


def _span(source: Source, line: int, column: int, end_line: int, end_column: int) -> Span:
    return Span(source, line, column, end_line, end_column)


# ---- tokens to AST -------------------------------------------------------------------


class _ToAst(Transformer):
    """Builds ast nodes while lark parses (no intermediate tree), spans taken from the tokens.

    One instance serves every parse; ``bind`` points it at the source (and, for a piece
    parsed during error recovery, the piece's offset) before each parse, under _PARSING.
    """

    def bind(self, source: Source, line_offset: int, column_offset: int) -> None:
        self._source = source
        self._line_offset = line_offset
        self._column_offset = column_offset

    def _span(self, first: object, last: object) -> Span:
        line, column = _start(first)
        end_line, end_column = _end(last)
        return Span(
            self._source,
            line + self._line_offset,
            column + self._column_offset,
            end_line + self._line_offset,
            end_column + self._column_offset,
        )

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(self._span(token, token), str(token))

    # statements

    def start(self, statements):
        return statements

    @v_args(inline=True)
    def dimension(self, keyword, name, default):
        return ast.DimensionDecl(self._span(keyword, default or name), self._name(name), default)

    def data(self, children):
        kind, name, shape, *attributes, init = children
        end = init or (attributes[-1] if attributes else None) or (shape and shape[1]) or name
        return ast.DataDecl(
            self._span(kind, end),
            str(kind),
            self._name(name),
            shape[0] if shape else (),
            tuple(self._name(a) for a in attributes),
            init,
        )

    def variable(self, children):
        keyword, name, shape, *attributes = children
        end = (attributes[-1] if attributes else None) or (shape and shape[1]) or name
        return ast.VariableDecl(
            self._span(keyword, end),
            self._name(name),
            shape[0] if shape else (),
            tuple(self._name(a) for a in attributes),
        )

    @v_args(inline=True)
    def let(self, keyword, name, value):
        return ast.Let(self._span(keyword, value), self._name(name), value)

    @v_args(inline=True)
    def objective(self, sense, expr):
        return ast.Objective(self._span(sense, expr), str(sense), expr)

    def subject_to(self, children):
        keyword, *items = children
        return ast.SubjectTo(self._span(keyword, items[-1]), tuple(items))

    def shape(self, children):
        *sizes, closing = children
        return tuple(sizes), closing

    @v_args(inline=True)
    def constraint(self, label, comparison):
        operands, operators = comparison
        first = label if label is not None else operands[0]
        return ast.Constraint(
            self._span(first, operands[-1]), self._name(label) if label else None, operands, operators
        )

    def comparison(self, parts):
        operators = tuple(ast.Operator(self._span(tok, tok), str(tok)) for tok in parts[1::2])
        return tuple(parts[0::2]), operators

    def for_block(self, children):
        keyword, var, iterable, *body = children
        return ast.ForBlock(self._span(keyword, body[-1]), self._name(var), iterable, tuple(body))

    # expressions

    @v_args(inline=True)
    def number(self, token):
        return ast.Number(self._span(token, token), str(token))

    @v_args(inline=True)
    def name(self, token):
        return self._name(token)

    @v_args(inline=True)
    def binary(self, left, op, right):
        span = self._span(left, right)
        if op in ("+", "-"):
            sign = 1 if op == "+" else -1
            if isinstance(left, ast.Sum) and _start(left) == _start(span):
                return ast.Sum(span, left.terms + (right,), left.signs + (sign,))
            return ast.Sum(span, (left, right), (1, sign))
        return ast.Binary(span, str(op), left, right)

    @v_args(inline=True)
    def parenthesized(self, opening, expr, closing):
        return dataclasses.replace(expr, span=self._span(opening, closing))

    @v_args(inline=True)
    def unary(self, op, operand):
        return ast.Unary(self._span(op, operand), str(op), operand)

    @v_args(inline=True)
    def power(self, base, exponent):
        return ast.Power(self._span(base, exponent), base, exponent)

    @v_args(inline=True)
    def member(self, value, name):
        return ast.Attribute(self._span(value, name), value, self._name(name))

    def subscript(self, children):
        value, *items, closing = children
        return ast.Subscript(self._span(value, closing), value, tuple(items))

    @v_args(inline=True)
    def slice(self, start, colon, stop, step):
        return ast.Slice(self._span(start or colon, step or stop or colon), start, stop, step)

    def call(self, children):
        func, *arguments, closing = children
        args, keywords, generator = [], [], None
        for argument in arguments:
            if argument is None:
                continue
            if isinstance(argument, ast.Keyword):
                keywords.append(argument)
            elif isinstance(argument, ast.Generator):
                generator = argument
            elif keywords:
                raise OptSyntaxError(
                    "a positional argument follows a keyword argument",
                    argument.span,
                    hint="put positional arguments first, as in Python",
                )
            else:
                args.append(argument)
        return ast.Call(self._span(func, closing), self._name(func), tuple(args), tuple(keywords), generator)

    @v_args(inline=True)
    def keyword(self, name, value):
        return ast.Keyword(self._span(name, value), self._name(name), value)

    @v_args(inline=True)
    def generator(self, element, var, iterable):
        return ast.Generator(self._span(element, iterable), element, self._name(var), iterable)


_BUILDER = _ToAst()


def _start(item: object) -> tuple[int, int]:
    if isinstance(item, Token):
        return item.line, item.column
    span = item if isinstance(item, Span) else item.span
    return span.line, span.column


def _end(item: object) -> tuple[int, int]:
    if isinstance(item, Token):
        return item.end_line, item.end_column
    span = item if isinstance(item, Span) else item.span
    return span.end_line, span.end_column


def _check_nesting(module: ast.Module) -> None:
    """Refuse expressions nested deeper than MAX_NESTING (later stages walk them recursively)."""
    stack: list[tuple[object, int]] = [(statement, 0) for statement in module.statements]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING and isinstance(node, ast.Node):
            raise ModelTooLargeError(
                f"this expression is nested more than {MAX_NESTING} levels deep",
                node.span,
                hint="name parts of it with `let`",
            )
        children = _children(node)
        step = 0 if isinstance(node, (tuple, ast.Sum, ast.SubjectTo, ast.ForBlock)) else 1
        stack.extend((child, depth + step) for child in children)


def _children(node: object) -> list[object]:
    if isinstance(node, tuple):
        return list(node)
    if isinstance(node, ast.Node):
        return [getattr(node, f) for f in node.__dataclass_fields__ if f != "span" and getattr(node, f) is not None]
    return []
