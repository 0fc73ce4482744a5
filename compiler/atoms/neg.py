"""neg(x) = max(-x, 0) elementwise. Convex, piecewise linear, nonincreasing."""

from optlayer.dsl.signatures import Signature, same_shape

from ._atom import Atom

ATOM = Atom(Signature("neg", ("x",), same_shape, "elementwise negative part max(-x, 0)"))
