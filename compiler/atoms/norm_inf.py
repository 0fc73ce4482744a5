"""norm_inf(x): the largest absolute value of all entries. Convex, piecewise linear."""

from optlayer.dsl.signatures import Signature, scalar

from ._atom import Atom

ATOM = Atom(Signature("norm_inf", ("x",), scalar, "largest absolute value of all entries"))
