"""pos(x) = max(x, 0) elementwise. Convex, piecewise linear, nondecreasing."""

from optlayer.dsl.signatures import Signature, same_shape

from ._atom import Atom

ATOM = Atom(Signature("pos", ("x",), same_shape, "elementwise positive part max(x, 0)"))
