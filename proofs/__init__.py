"""nnmath.proofs: every claim checked by experiment against its exact value and a foil."""
