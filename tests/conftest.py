"""Shared test helpers live beside this file (reference.py, models.py); pytest puts it on sys.path."""
