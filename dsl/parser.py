"""Text to syntax tree: the lark grammar in opt.lark, located syntax errors, and recovery.

When the whole text does not parse, each top-level statement (and each item of a
``subject to`` block) is parsed on its own, so that one run reports every independent
syntax error. No lark exception ever leaves this module.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import Transformer_NonRecursive, v_args

from . import ast
from .errors import ModelTooLargeError, OptSyntaxError, SourceError, raise_collected
from .indentation import Indentation, IndentationProblem
from .source import Source, Span

MAX_NESTING = 64
"""Deepest nesting of expressions (parentheses, calls, subscripts) accepted in a model."""

_GRAMMAR = Path(__file__).with_name("opt.lark")
_STARTING_WORDS = frozenset({"dimension", "parameter", "learnable", "variable", "let", "minimize", "maximize", "subject", "for"})
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


@functools.cache
def _lark() -> Lark:
    return Lark(
        _GRAMMAR.read_text(),
        parser="lalr",
        lexer="contextual",
        postlex=Indentation(),
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "block_item"],
    )


def parse(text: str, filename: str = "<string>") -> ast.Module:
    """Parse a model's text; raise OptSyntaxError (or ModelErrors for several) when it is not valid."""
    source = Source(text, filename)
    padded = text if text.endswith("\n") else text + "\n"
    try:
        statements = _to_ast(_lark().parse(padded, start="start"), source)
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
        tree = _lark().parse(text, start=start)
    except IndentationProblem as problem:
        span = _span(source, problem.token.line + line_offset, 1, problem.token.line + line_offset, 2)
        return OptSyntaxError(str(problem), span, hint="indent every line of a block by the same amount")
    except UnexpectedInput as error:
        return _unclosed_bracket(source, text, error, line_offset, column_offset) or _syntax_error(
            source, text, error, line_offset, column_offset
        )
    except LarkError as error:  # pragma: no cover - lark raises UnexpectedInput for every input error
        return OptSyntaxError(f"cannot parse this: {error}", _span(source, line_offset + 1, 1, line_offset + 1, 2))
    try:
        _to_ast(tree, source, line_offset, column_offset)
    except SourceError as error:
        return error
    return None


def _to_ast(tree: Tree, source: Source, line_offset: int = 0, column_offset: int = 0) -> object:
    try:
        return _ToAst(source, line_offset, column_offset).transform(tree)
    except VisitError as error:
        raise error.orig_exc from None


def _unclosed_bracket(source: Source, text: str, error: UnexpectedInput, line_offset: int, column_offset: int) -> OptSyntaxError | None:
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


def _syntax_error(source: Source, text: str, error: UnexpectedInput, line_offset: int, column_offset: int) -> OptSyntaxError:
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


def _unexpected_token(source: Source, token: Token, expected: set[str], line_offset: int, column_offset: int) -> OptSyntaxError:
    if token.type in ("_NEWLINE", "_DEDENT"):
        line = token.line + line_offset
        end = len(source.line(line)) + 1
        span = _span(source, line, max(1, end - 1), line, end)
        return OptSyntaxError("this line ends too early", span, hint=_explain_expected(expected))
    line, column = token.line + line_offset, token.column + column_offset
    if token.type == "_INDENT":
        line = token.end_line + line_offset
        text = source.line(line)
        column = len(text) - len(text.lstrip(" \t")) + 1
        span = _span(source, line, column, line, column + 1)
        return OptSyntaxError("unexpected indentation", span, hint="only the lines of a `subject to` or `for` block are indented")
    span = _span(source, line, column, line, column + max(1, len(token.value)))
    at_statement_start = "DIMENSION" in expected or "SUBJECT" in expected
    if at_statement_start and token.type in ("NAME", "NUMBER", "LPAR", "MINUS", "FOR"):
        return OptSyntaxError(
            "a statement must start with " + ", ".join(f"`{k}`" for k in _STATEMENT_KEYWORDS),
            span,
            hint="constraints (and `for` blocks of them) go in an indented block under `subject to`",
        )
    return OptSyntaxError(f"unexpected {_describe_token(token)}", span, hint=_explain_expected(expected))


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


# ---- lark tree to AST ----------------------------------------------------------------


@v_args(meta=True, inline=True)
class _ToAst(Transformer_NonRecursive):
    """Builds ast nodes bottom-up (non-recursive, so long sums cannot exhaust the stack)."""

    def __init__(self, source: Source, line_offset: int = 0, column_offset: int = 0) -> None:
        super().__init__()
        self._source = source
        self._line_offset = line_offset
        self._column_offset = column_offset

    def _span(self, where: object) -> Span:
        return Span(
            self._source,
            where.line + self._line_offset,
            where.column + self._column_offset,
            where.end_line + self._line_offset,
            where.end_column + self._column_offset,
        )

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(self._span(token), str(token))

    # statements

    def start(self, meta, *statements):
        return list(statements)

    def dimension(self, meta, name, default):
        return ast.DimensionDecl(self._span(meta), self._name(name), default)

    def data(self, meta, kind, name, shape, *rest):
        *attributes, init = rest
        return ast.DataDecl(self._span(meta), kind, self._name(name), shape or (), tuple(attributes), init)

    def data_kind(self, meta, token):
        return str(token)

    def sense(self, meta, token):
        return str(token)

    def variable(self, meta, name, shape, *attributes):
        return ast.VariableDecl(self._span(meta), self._name(name), shape or (), tuple(attributes))

    def let(self, meta, name, value):
        return ast.Let(self._span(meta), self._name(name), value)

    def objective(self, meta, sense, expr):
        return ast.Objective(self._span(meta), sense, expr)

    def subject_to(self, meta, *items):
        return ast.SubjectTo(self._span(meta).to(items[-1].span), items)

    def shape(self, meta, *sizes):
        return tuple(sizes)

    def attribute(self, meta, name):
        return self._name(name)

    def constraint(self, meta, label, comparison):
        operands, operators = comparison
        return ast.Constraint(self._span(meta), self._name(label) if label else None, operands, operators)

    def comparison(self, meta, *parts):
        operands = tuple(parts[0::2])
        operators = tuple(ast.Operator(self._span(tok), str(tok)) for tok in parts[1::2])
        return operands, operators

    def for_block(self, meta, var, iterable, *body):
        return ast.ForBlock(self._span(meta).to(body[-1].span), self._name(var), iterable, body)

    # expressions

    def number(self, meta, token):
        return ast.Number(self._span(token), str(token))

    def name(self, meta, token):
        return self._name(token)

    def binary(self, meta, left, op, right):
        span = self._span(meta)
        if op in ("+", "-"):
            sign = 1 if op == "+" else -1
            if isinstance(left, ast.Sum) and left.span.line == span.line and left.span.column == span.column:
                return ast.Sum(span, left.terms + (right,), left.signs + (sign,))
            return ast.Sum(span, (left, right), (1, sign))
        return ast.Binary(span, str(op), left, right)

    def unary(self, meta, op, operand):
        return ast.Unary(self._span(meta), str(op), operand)

    def power(self, meta, base, exponent):
        return ast.Power(self._span(meta), base, exponent)

    def member(self, meta, value, name):
        return ast.Attribute(self._span(meta), value, self._name(name))

    def subscript(self, meta, value, *items):
        return ast.Subscript(self._span(meta), value, items)

    def slice(self, meta, start, stop, step):
        return ast.Slice(self._span(meta), start, stop, step)

    def call(self, meta, func, *arguments):
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
        return ast.Call(self._span(meta), self._name(func), tuple(args), tuple(keywords), generator)

    def keyword(self, meta, name, value):
        return ast.Keyword(self._span(meta), self._name(name), value)

    def generator(self, meta, element, var, iterable):
        return ast.Generator(self._span(meta), element, self._name(var), iterable)


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
