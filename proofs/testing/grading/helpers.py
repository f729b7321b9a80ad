"""Small tools rubric checks share (on top of ``proofs.testing`` and ``numeric.reference``).

* :func:`pure_call` calls a student's function and fails, naming the argument, when it
  wrote into any array it was given (inputs, a cache, an upstream gradient);
* :func:`returns` checks the number of values a function returned, with the names expected;
* :func:`expect` compares one output with a float64 reference through
  ``proofs.testing.compare.mismatch`` (NaN/inf always fail; constant factors, per-column
  offsets and transposes are named), tolerance 64·ε·|ref| + √ε·max|ref| with ε the
  machine epsilon of the output's dtype (float32 is accepted with float32 tolerances);
* :func:`batch` draws the standard test batch: rows of N(μ_j, σ_j²) with per-column means
  and scales, one column of tiny variance (σ = 1e-3, so ν ≈ ε: leaving ε out is visible)
  when ``tiny=True``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..compare import mismatch
from ..purity import Snapshot


def pure_call(f: Callable, fname: str, *args: Any, what: str = "input",
              names: Sequence[str] = (), allowed: Sequence[str] = ()) -> Any:
    """``f(*args)``; AssertionError if ``f`` modified an array argument (except those named
    in ``allowed``, e.g. a parameter dict the convention updates in place). ``names`` are
    the argument names used in the message (the rubric's signature)."""
    names = list(names) + [f"argument {k + 1}" for k in range(len(names), len(args))]
    snap = Snapshot(what, {n: a for n, a in zip(names, args) if n not in allowed})
    result = f(*args)
    snap.assert_unchanged(fname)
    return result


def returns(result: Any, fname: str, names: Sequence[str]) -> tuple:
    """``result`` as a tuple of len(names) values, or AssertionError saying what came back."""
    if len(names) == 1:
        return (result,)
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        got = (f"{len(result)} values" if isinstance(result, (tuple, list))
               else f"a single {type(result).__name__}")
        raise AssertionError(f"{fname} returned {got}; expected the {len(names)} values "
                             f"({', '.join(names)})")
    return tuple(result)


def tolerance(got: Any, want: np.ndarray) -> np.ndarray:
    dt = getattr(np.asarray(got), "dtype", np.dtype(np.float64))
    eps = float(np.finfo(dt).eps) if np.issubdtype(dt, np.floating) else 2.2e-16
    eps = max(eps, float(np.finfo(np.float64).eps))
    scale = float(np.max(np.abs(want))) if np.size(want) else 0.0
    return 64 * eps * np.abs(want) + np.sqrt(eps) * scale + 1e-300


def expect(got: Any, want: Any, what: str, *, hints: dict[str, float] | None = None,
           foils: dict[str, Any] | None = None, advice: str = "") -> None:
    """AssertionError naming ``what`` and the symptom unless ``got`` ≈ ``want``."""
    if got is None:
        raise AssertionError(f"{what} is None: the function returns nothing (a missing "
                             "return statement?)")
    want = np.asarray(want, dtype=np.float64)
    problem = mismatch(got, want, tolerance(got, want), what, hints=hints, foils=foils)
    if problem:
        sep = " " if problem.rstrip().endswith(("?", ".")) else ". "
        raise AssertionError(problem + (sep + advice if advice else ""))


def batch(rng: np.random.Generator, n: int, d: int, *, tiny: bool = False) -> np.ndarray:
    """(n, d) test batch: column j ~ N(μ_j, σ_j²), μ_j ~ U(−2, 2), σ_j ~ U(0.5, 3); with
    ``tiny`` the last column has σ = 1e-3 (variance 1e-6, comparable with ε = 1e-5)."""
    mu = rng.uniform(-2, 2, d)
    sigma = rng.uniform(0.5, 3, d)
    if tiny:
        sigma[-1] = 1e-3
    return mu + sigma * rng.standard_normal((n, d))


def unbiased_foil(x: np.ndarray, gamma: Any, beta: Any, eps: float) -> np.ndarray:
    """What BatchNorm gives with the UNBIASED variance ν' = ν·N/(N − 1), from the reference:
    γ(x − μ)/√(ν' + ε) = √((N−1)/N)·γ(x − μ)/√(ν + ε(N−1)/N)."""
    from numeric import reference as R

    n = x.shape[0]
    k = (n - 1) / n
    return np.sqrt(k) * R.batchnorm_forward(x, gamma, np.zeros_like(np.asarray(beta)),
                                            eps * k) + beta
