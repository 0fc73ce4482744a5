"""square(x): elementwise square. Convex quadratic."""

from optlayer.dsl.signatures import Signature, same_shape

from ._atom import Atom

ATOM = Atom(Signature("square", ("x",), same_shape, "elementwise square"))
