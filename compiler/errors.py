"""Errors the compiler reports: models that are well formed but not convex QPs."""

from optlayer.dsl.errors import SourceError


class ConvexityError(SourceError):
    """An objective or constraint that breaks the curvature rules of a convex QP."""
