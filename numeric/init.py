"""Weight initialisers: W of shape (n_in, n_out), drawn with an explicit numpy Generator.

Scales are generated kernels (catalog uniform-bounds; he-init, xavier-init, 000 §3.3,
002 §9.4): a zero-mean weight of variance v is N(0, v) or U(−a, a) with a = √(3v).

* He (Kaiming): v = 2/n_in, for ReLU layers;
* Xavier (Glorot): v = 2/(n_in + n_out), a compromise of 1/n_in (forward) and 1/n_out;
* LeCun: v = 1/n_in (SELU, tanh-like layers).
* Fixup (Zhang, Dauphin & Ma 2019; catalog resnet-variance): in a residual network of L
  branches with m weight layers each, He-initialise the inner layers scaled by
  L^(−1/(2m−2)) and set the last layer of every branch to zero, so each block starts as the
  identity and Var[x + F(x)] = Var x.
"""
from __future__ import annotations

import numpy as np

from .kernels import kernels as K

__all__ = [
    "INITIALISERS",
    "fixup",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "xavier_normal",
    "xavier_uniform",
]


def _check(rng: np.random.Generator, n_in: int, n_out: int) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("initialisers need a numpy.random.Generator as rng, e.g. "
                        "np.random.default_rng(0)")
    for name, n in (("n_in", n_in), ("n_out", n_out)):
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")


def _normal(rng, n_in, n_out, std):
    return rng.normal(0.0, float(std), size=(n_in, n_out))


def _uniform(rng, n_in, n_out, bound):
    bound = float(bound)
    return rng.uniform(-bound, bound, size=(n_in, n_out))


def he_normal(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """N(0, 2/n_in)."""
    _check(rng, n_in, n_out)
    return _normal(rng, n_in, n_out, K.he_normal_std(n_in))


def he_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """U(−a, a), a = √(6/n_in)."""
    _check(rng, n_in, n_out)
    return _uniform(rng, n_in, n_out, K.he_uniform_bound(n_in))


def xavier_normal(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """N(0, 2/(n_in + n_out))."""
    _check(rng, n_in, n_out)
    return _normal(rng, n_in, n_out, K.xavier_normal_std(n_in, n_out))


def xavier_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """U(−a, a), a = √(6/(n_in + n_out))."""
    _check(rng, n_in, n_out)
    return _uniform(rng, n_in, n_out, K.xavier_uniform_bound(n_in, n_out))


def lecun_normal(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """N(0, 1/n_in)."""
    _check(rng, n_in, n_out)
    return _normal(rng, n_in, n_out, K.lecun_normal_std(n_in))


def lecun_uniform(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    """U(−a, a), a = √(3/n_in)."""
    _check(rng, n_in, n_out)
    return _uniform(rng, n_in, n_out, K.lecun_uniform_bound(n_in))


def fixup(rng: np.random.Generator, n_in: int, n_out: int, *, n_branches: int,
          branch_depth: int, last: bool) -> np.ndarray:
    """Fixup: zeros for the ``last`` layer of a residual branch, otherwise He normal scaled by
    n_branches^(−1/(2·branch_depth − 2)) (branch_depth ≥ 2 weight layers per branch)."""
    _check(rng, n_in, n_out)
    if n_branches < 1 or branch_depth < 2:
        raise ValueError(f"fixup needs n_branches >= 1 and branch_depth >= 2, got "
                         f"{n_branches}, {branch_depth}")
    if last:
        return np.zeros((n_in, n_out))
    scale = float(n_branches) ** (-1.0 / (2 * branch_depth - 2))
    return he_normal(rng, n_in, n_out) * scale


INITIALISERS = {f.__name__: f for f in (he_normal, he_uniform, xavier_normal,
                                        xavier_uniform, lecun_normal, lecun_uniform)}
