"""maximum(x, y, ...): elementwise maximum, with broadcasting. Convex, piecewise linear."""

from optlayer.dsl.signatures import Signature, broadcast_arguments

from ._atom import Atom

ATOM = Atom(Signature("maximum", ("x", "y"), broadcast_arguments, "elementwise maximum", variadic=True))
