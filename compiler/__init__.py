"""Canonicalization of checked models to QP standard form, its views, and code generation."""
