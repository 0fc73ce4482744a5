"""norm1(x): the sum of the absolute values of all entries. Convex, piecewise linear."""

from optlayer.dsl.signatures import Signature, scalar

from ._atom import Atom

ATOM = Atom(Signature("norm1", ("x",), scalar, "sum of the absolute values of all entries"))
