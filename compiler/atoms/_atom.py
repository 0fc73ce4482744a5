"""What every function of the language defines."""

from __future__ import annotations

from dataclasses import dataclass

from optlayer.dsl.signatures import Signature


@dataclass(frozen=True)
class Atom:
    signature: Signature

    @property
    def name(self) -> str:
        return self.signature.name
