"""The public API: a .opt model (a file or a string) to its generated source, or to a layer.

``load`` and ``compile`` build the layer from exactly the text ``generate`` returns, so a
written file behaves like the layer they return.
"""

from __future__ import annotations

import builtins
import re
import types
from pathlib import Path

from optlayer.compiler.standard_form import StandardForm
from optlayer.runtime.layer import QPLayer

from .pipeline import read_source, standard_form


def class_name(filename: str) -> str:
    """``portfolio.opt`` → ``PortfolioLayer``; a model given as a string gives ``Layer``."""
    words = re.findall(r"[A-Za-z0-9]+", Path(filename).stem) if filename != "<string>" else []
    name = "".join(w[:1].upper() + w[1:] for w in words) + "Layer"
    return name if name[0].isalpha() else "Layer"


def generate(path: str | Path, **dimensions: int) -> str:
    """The source of the layer module for the model in ``path``; it imports only torch and optlayer.runtime."""
    return _generated(read_source(path), str(path), dimensions)[1]


def load(path: str | Path, **dimensions: int) -> QPLayer:
    """The layer (an nn.Module) for the model in ``path``; dimensions by keyword override the defaults."""
    return _layer(read_source(path), str(path), dimensions)


def compile(source: str, **dimensions: int) -> QPLayer:  # noqa: A001 - the public name design.md fixes
    """The layer (an nn.Module) for a model given as text."""
    return _layer(source, "<string>", dimensions)


def _generated(text: str, filename: str, dimensions: dict[str, int]) -> tuple[StandardForm, str, str]:
    sf = standard_form(text, filename, dimensions)
    name = class_name(filename)
    return sf, sf.source(name), name


def _layer(text: str, filename: str, dimensions: dict[str, int]) -> QPLayer:
    sf, source, name = _generated(text, filename, dimensions)
    module = types.ModuleType(f"optlayer.generated.{name}", f"generated from {filename}")
    module.__file__ = f"<optlayer: {filename}>"
    exec(builtins.compile(source, module.__file__, "exec"), module.__dict__)
    layer = getattr(module, name)()
    layer.standard_form = sf
    layer.generated_source = source
    return layer
