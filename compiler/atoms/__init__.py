"""The language's functions, one module each: signature, curvature and canonicalization together.

Adding a function means adding one module here that defines ``ATOM``; it is found by name.
"""

from __future__ import annotations

import importlib
import pkgutil

from optlayer.dsl.signatures import Signature

from ._atom import Atom


def _discover() -> dict[str, Atom]:
    atoms: dict[str, Atom] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            atom = importlib.import_module(f"{__name__}.{info.name}").ATOM
            atoms[atom.name] = atom
    return atoms


ATOMS: dict[str, Atom] = _discover()
VOCABULARY: dict[str, Signature] = {name: atom.signature for name, atom in ATOMS.items()}
