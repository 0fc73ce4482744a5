"""max(x): the largest entry. Convex, piecewise linear, nondecreasing."""

from optlayer.dsl.signatures import Signature, scalar

from ._atom import Atom

ATOM = Atom(Signature("max", ("x",), scalar, "largest entry"))
