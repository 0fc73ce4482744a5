"""sum_squares(x): the sum of the squares of all entries. Convex quadratic."""

from optlayer.dsl.signatures import Signature, scalar

from ._atom import Atom

ATOM = Atom(Signature("sum_squares", ("x",), scalar, "sum of the squares of all entries"))
