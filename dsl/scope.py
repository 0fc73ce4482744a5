"""Names in scope while checking: what each name is, where it was declared, and naming rules."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

from .errors import OptNameError, did_you_mean
from .model import Data, Dimension, TExpr, Variable
from .source import Span

RESERVED_VARIABLE_NAMES = frozenset({"status", "duals", "objective", "iterations"})
"""Solution attributes: a variable by one of these names could not be read back as ``sol.NAME``."""

RESERVED_NAMES = frozenset({"torch", "optlayer"})
"""Module names that generated code refers to, so a model's names must not hide them."""

_ASCII_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class DimensionSymbol:
    dimension: Dimension


@dataclass(frozen=True)
class DataSymbol:
    data: Data


@dataclass(frozen=True)
class VariableSymbol:
    variable: Variable


@dataclass(frozen=True)
class LetSymbol:
    name: str
    value: TExpr
    span: Span


@dataclass(frozen=True)
class IndexSymbol:
    """A loop or generator index."""

    name: str
    span: Span


@dataclass(frozen=True)
class PoisonedSymbol:
    """A name whose declaration had an error: uses of it are skipped, not reported again."""

    name: str
    span: Span


Symbol = Union[DimensionSymbol, DataSymbol, VariableSymbol, LetSymbol, IndexSymbol, PoisonedSymbol]


class Poisoned(Exception):
    """A statement used a name whose declaration failed; it is skipped without a new error."""


def symbol_span(symbol: Symbol) -> Span:
    for attr in ("dimension", "data", "variable"):
        inner = getattr(symbol, attr, None)
        if inner is not None:
            return inner.span
    return symbol.span


def symbol_kind(symbol: Symbol) -> str:
    if isinstance(symbol, DimensionSymbol):
        return "dimension"
    if isinstance(symbol, DataSymbol):
        return symbol.data.kind
    if isinstance(symbol, VariableSymbol):
        return "variable"
    if isinstance(symbol, LetSymbol):
        return "let"
    if isinstance(symbol, IndexSymbol):
        return "loop index"
    return "name"


class Scope:
    """Nested name tables: the model's top level, then one table per loop or generator."""

    def __init__(self, functions: Iterable[str], declared_later: dict[str, Span]) -> None:
        self._tables: list[dict[str, Symbol]] = [{}]
        self._functions = frozenset(functions) | {"range"}
        self._declared_later = declared_later

    def lookup(self, name: str, span: Span) -> Symbol:
        """The symbol ``name`` refers to; raises a located error (with a hint) when there is none."""
        for table in reversed(self._tables):
            if name in table:
                symbol = table[name]
                if isinstance(symbol, PoisonedSymbol):
                    raise Poisoned(name)
                return symbol
        if name in self._functions:
            raise OptNameError(f"`{name}` is a function", span, hint=f"call it: `{name}(...)`")
        later = self._declared_later.get(name)
        if later is not None and (later.line, later.column) > (span.line, span.column):
            raise OptNameError(
                f"`{name}` is used before its declaration",
                span,
                notes=[(f"`{name}` is declared here", later)],
                hint="move the declaration above its first use",
            )
        raise OptNameError(f"unknown name `{name}`", span, hint=did_you_mean(name, self.visible_names()))

    def visible_names(self) -> set[str]:
        return {name for table in self._tables for name in table}

    def declare(self, name: str, span: Span, symbol: Symbol) -> None:
        """Add ``name``; refuses duplicates, shadowing, keywords and reserved names."""
        validate_name(name, span, self._functions)
        for table in self._tables:
            if name in table:
                first = symbol_span(table[name])
                raise OptNameError(
                    f"`{name}` is already defined",
                    span,
                    notes=[(f"`{name}` was first defined here as a {symbol_kind(table[name])}", first)],
                    hint="choose another name",
                )
        self._tables[-1][name] = symbol

    def poison(self, name: str, span: Span) -> None:
        """Record a name whose declaration failed, unless it is taken already."""
        if all(name not in table for table in self._tables):
            self._tables[-1][name] = PoisonedSymbol(name, span)

    def push(self) -> None:
        self._tables.append({})

    def pop(self) -> None:
        self._tables.pop()


def validate_name(name: str, span: Span, functions: frozenset[str]) -> None:
    """Names reach generated Python code as keyword arguments and attributes: keep them safe."""
    if not _ASCII_NAME.match(name):
        hint = "names start with a letter and use ASCII letters, digits and `_` (write `sigma`, not `σ`)"
        raise OptNameError(f"`{name}` is not a valid name", span, hint=hint)
    if keyword.iskeyword(name):
        raise OptNameError(
            f"`{name}` is a Python keyword: a layer could not take it as an argument name",
            span,
            hint=f"choose another name, such as `{name}_`",
        )
    if name in functions:
        raise OptNameError(f"`{name}` is the name of a function", span, hint="choose another name")
    if name in RESERVED_NAMES:
        raise OptNameError(
            f"`{name}` is reserved: generated layers use it", span, hint=f"choose another name, such as `{name}_`"
        )


def refuse_reserved_variable(name: str, span: Span) -> None:
    if name in RESERVED_VARIABLE_NAMES:
        raise OptNameError(
            f"a variable cannot be named `{name}`: solutions use `sol.{name}` for something else",
            span,
            hint=f"choose another name, such as `{name}_`",
        )
