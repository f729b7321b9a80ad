"""Placeholder: derivations of this topic are registered here."""
from .registry import derivation  # noqa: F401
