"""nnmath.numeric: NumPy kernels generated from the derivations, and a small layer stack.

Nothing here imports SymPy or derive at run time (only ``numeric.codegen`` does).
"""
