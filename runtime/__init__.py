"""Batched, differentiable QP solver (primal-dual interior point). Knows nothing of the language."""
