"""abs(x): elementwise absolute value. Convex, piecewise linear."""

from optlayer.dsl.signatures import Signature, same_shape

from ._atom import Atom

ATOM = Atom(Signature("abs", ("x",), same_shape, "elementwise absolute value"))
