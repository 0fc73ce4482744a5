"""The stages strung together: source text → checked model (→ standard form → generated code)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from optlayer.compiler.assemble import assemble
from optlayer.compiler.atoms import VOCABULARY
from optlayer.compiler.canonicalize import canonicalize
from optlayer.compiler.standard_form import StandardForm
from optlayer.dsl.checker import check
from optlayer.dsl.model import CheckedModel
from optlayer.dsl.parser import parse
from optlayer.errors import OptError


def read_source(path: str | Path) -> str:
    """The text of a model file; a missing or unreadable file is an OptError, not a traceback."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OptError(f"no such file: {path}", filename=str(path)) from None
    except IsADirectoryError:
        raise OptError(f"{path} is a directory, not a model file", filename=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise OptError(f"cannot read {path}: {error}", filename=str(path)) from None


def check_source(text: str, filename: str = "<string>", dimensions: Mapping[str, int] | None = None) -> CheckedModel:
    """Parse and check a model's text; dimensions override the declared defaults."""
    return check(parse(text, filename), VOCABULARY, dimensions)


def standard_form(text: str, filename: str = "<string>", dimensions: Mapping[str, int] | None = None) -> StandardForm:
    """Parse, check and canonicalize a model's text."""
    return assemble(canonicalize(check_source(text, filename, dimensions)))
