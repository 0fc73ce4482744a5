"""minimum(x, y, ...): elementwise minimum, with broadcasting. Concave, piecewise linear."""

from optlayer.dsl.signatures import Signature, broadcast_arguments

from ._atom import Atom

ATOM = Atom(Signature("minimum", ("x", "y"), broadcast_arguments, "elementwise minimum", variadic=True))
