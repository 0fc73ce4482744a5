"""min(x): the smallest entry. Concave, piecewise linear, nondecreasing."""

from optlayer.dsl.signatures import Signature, scalar

from ._atom import Atom

ATOM = Atom(Signature("min", ("x",), scalar, "smallest entry"))
