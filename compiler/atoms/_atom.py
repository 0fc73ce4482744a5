"""What every function of the language defines, and the rules several of them share.

An atom's ``canonicalize`` receives the canonicalization context, its arguments (an Affine
for an argument with variables, a Data node for a constant one), the integer options
(``axis``) and the number of iteration rows, and returns an Affine. ``value`` computes the
function on constant arguments. The curvature rules in compiler/curvature.py read
``curvature``, ``monotonicity``, ``sign``, ``quadratic``, ``psd`` and ``check``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from optlayer.dsl.signatures import Signature

if TYPE_CHECKING:
    from ..affine import Affine
    from ..data import Data

    Operand = Union[Affine, Data]


def increasing(position: int, argument: Any) -> str:
    return "increasing"


def decreasing(position: int, argument: Any) -> str:
    return "decreasing"


def by_sign(position: int, argument: Any) -> str:
    """Increasing for nonnegative arguments, decreasing for nonpositive ones (abs, square)."""
    if argument.nonneg:
        return "increasing"
    if argument.nonpos:
        return "decreasing"
    return "nonmonotone"


def nonneg(arguments: Sequence[Any]) -> tuple[bool, bool]:
    return True, False


def unknown_sign(arguments: Sequence[Any]) -> tuple[bool, bool]:
    return False, False


def sign_of_all(arguments: Sequence[Any]) -> tuple[bool, bool]:
    """Nonnegative when every argument is, nonpositive when every argument is."""
    return all(a.nonneg for a in arguments), all(a.nonpos for a in arguments)


def no_check(call: Any, arguments: Sequence[Any]) -> None:
    return None


def not_psd(arguments: Sequence[Any]) -> bool:
    return False


@dataclass(frozen=True)
class Atom:
    signature: Signature
    curvature: str
    canonicalize: Callable[..., Affine]
    value: Callable[[Sequence[Data], dict[str, int]], Data]
    monotonicity: Callable[[int, Any], str] = increasing
    sign: Callable[[Sequence[Any]], tuple[bool, bool]] = unknown_sign
    quadratic: bool = False
    check: Callable[[Any, Sequence[Any]], None] = no_check
    psd: Callable[[Sequence[Any]], bool] = not_psd

    @property
    def name(self) -> str:
        return self.signature.name

    @property
    def linear(self) -> bool:
        """Affine atoms (sum, diag, stacking): the result's curvature is that of the arguments' sum."""
        return self.curvature == "affine"
