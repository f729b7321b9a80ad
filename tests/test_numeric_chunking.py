"""Cache blocking and in-place kernels: same results as the plain evaluation, to rounding.

numeric.layers applies the generated kernels to row chunks with ``out=`` chunk views, and
codegen makes such kernels evaluate their ufunc chain in place (no temporaries). These tests
compare the chunked/in-place results with whole-array evaluation for odd shapes, one row,
many rows, non-contiguous input and aliasing ``out``.
"""
import inspect

import numpy as np
import pytest
import sympy as sp

from derive.core import Conclusion, Derivation
from numeric import codegen
from numeric.kernels import kernels as K
from numeric.layers import (_row_chunks, batchnorm_backward, layernorm_backward,
                            softmax_cross_entropy)

SHAPES = [(1, 7), (2, 3), (37, 1031), (300, 17), (1000, 5)]
CHUNKS = [None, 1, 100, 4096]  # default, one row per chunk, a few rows, many rows


def _tol(dtype):
    return 2e-5 if dtype == np.float32 else 1e-12


def test_row_chunks_cover_every_row_once():
    for n_rows, n_cols, itemsize, size in [(0, 5, 8, 64), (1, 5, 8, 1), (37, 1031, 4, 4096),
                                           (1000, 5, 8, 100)]:
        chunks = _row_chunks(n_rows, n_cols, itemsize, size)
        rows = [i for b in chunks for i in range(b.start, b.stop)]
        assert rows == list(range(n_rows))
        assert all(b.stop > b.start for b in chunks)
        if n_rows:
            assert chunks[0].stop - chunks[0].start == max(1, size // (n_cols * itemsize))


def _bn_reference(g, xhat, gamma, inv_std):
    g64, x64 = g.astype(np.float64), xhat.astype(np.float64)
    dx = gamma * inv_std * (g64 - g64.mean(0) - x64 * (g64 * x64).mean(0))
    return dx, (g64 * x64).sum(0), g64.sum(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_backward_chunked_equals_whole(shape, dtype, rng):
    g = rng.standard_normal(shape).astype(dtype)
    xhat = rng.standard_normal(shape).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, shape[1]).astype(dtype)
    inv_std = rng.uniform(0.5, 1.5, shape[1]).astype(dtype)
    ref = _bn_reference(g, xhat, gamma, inv_std)
    scale = np.sqrt(shape[0])  # the sums grow like √m
    for chunk in CHUNKS:
        dx, dgamma, dbeta = batchnorm_backward(g, xhat, gamma, inv_std, chunk_bytes=chunk)
        assert dx.dtype == dgamma.dtype == dbeta.dtype == dtype
        np.testing.assert_allclose(dx, ref[0], rtol=_tol(dtype), atol=_tol(dtype))
        np.testing.assert_allclose(dgamma, ref[1], rtol=_tol(dtype), atol=scale * _tol(dtype))
        np.testing.assert_allclose(dbeta, ref[2], rtol=_tol(dtype), atol=scale * _tol(dtype))


def test_batchnorm_backward_eval_mode_and_preallocated_out(rng):
    g, xhat = rng.standard_normal((50, 9)), rng.standard_normal((50, 9))
    gamma, inv_std = rng.uniform(0.5, 1.5, 9), rng.uniform(0.5, 1.5, 9)
    out = np.full_like(g, np.nan)
    dx, _, _ = batchnorm_backward(g, xhat, gamma, inv_std, train=False, out=out,
                                  chunk_bytes=200)
    assert dx is out
    np.testing.assert_allclose(dx, gamma * inv_std * g, rtol=1e-14)


def test_batchnorm_backward_non_contiguous_input(rng):
    big_g, big_x = rng.standard_normal((60, 40)), rng.standard_normal((60, 40))
    g, xhat = big_g[::2, ::3], big_x[::2, ::3]  # strided views
    gamma, inv_std = rng.uniform(0.5, 1.5, g.shape[1]), rng.uniform(0.5, 1.5, g.shape[1])
    out = np.empty((g.shape[1], g.shape[0])).T  # a Fortran-ordered out
    got = batchnorm_backward(g, xhat, gamma, inv_std, out=out, chunk_bytes=64)
    want = batchnorm_backward(np.ascontiguousarray(g), np.ascontiguousarray(xhat), gamma,
                              inv_std)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_layernorm_backward_chunked_equals_whole(shape, dtype, rng):
    g = rng.standard_normal(shape).astype(dtype)
    xhat = rng.standard_normal(shape).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, shape[1]).astype(dtype)
    inv_std = rng.uniform(0.5, 1.5, (shape[0], 1)).astype(dtype)
    g64, x64 = g.astype(np.float64), xhat.astype(np.float64)
    g_hat = g64 * gamma
    want = inv_std * (g_hat - g_hat.mean(1, keepdims=True)
                      - x64 * (g_hat * x64).mean(1, keepdims=True))
    scale = np.sqrt(shape[0])
    for chunk in CHUNKS:
        dx, dgamma, dbeta = layernorm_backward(g, xhat, gamma, inv_std, chunk_bytes=chunk)
        assert dx.dtype == dgamma.dtype == dbeta.dtype == dtype
        np.testing.assert_allclose(dx, want, rtol=10 * _tol(dtype), atol=10 * _tol(dtype))
        np.testing.assert_allclose(dgamma, (g64 * x64).sum(0), rtol=_tol(dtype),
                                   atol=scale * _tol(dtype))
        np.testing.assert_allclose(dbeta, g64.sum(0), rtol=_tol(dtype),
                                   atol=scale * _tol(dtype))


def _ce_reference(z, y):
    z64, y64 = z.astype(np.float64), y.astype(np.float64)
    log_p = z64 - z64.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    n = z.shape[0]
    return -(y64 * log_p).sum() / n, (np.exp(log_p) * y64.sum(1, keepdims=True) - y64) / n


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_cross_entropy_chunked_equals_whole(shape, dtype, rng):
    z = (3 * rng.standard_normal(shape)).astype(dtype)
    y = rng.uniform(0, 1, shape).astype(dtype)  # label rows need not sum to 1
    loss_ref, grad_ref = _ce_reference(z, y)
    for chunk in CHUNKS:
        loss, grad = softmax_cross_entropy(z, y, chunk_bytes=chunk)
        assert grad.dtype == dtype
        assert loss == pytest.approx(loss_ref, rel=10 * _tol(dtype))
        np.testing.assert_allclose(grad, grad_ref, rtol=10 * _tol(dtype),
                                   atol=_tol(dtype) / shape[0])


def test_softmax_cross_entropy_large_logits_non_contiguous(rng):
    z = np.asfortranarray(1e4 * rng.standard_normal((40, 6)))
    y = np.eye(6)[rng.integers(0, 6, 40)]
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # exp may underflow to 0
        loss, grad = softmax_cross_entropy(z, y, chunk_bytes=64)
    loss_ref, grad_ref = _ce_reference(np.ascontiguousarray(z), y)
    assert np.isfinite(loss) and loss == pytest.approx(loss_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, atol=1e-15)


# ---- in-place kernels ----------------------------------------------------------------------

def _kernels_with_out():
    return [n for n in K.names() if "out" in inspect.signature(K[n]).parameters]


def _arguments(name, rng):
    """Per-element arguments (by name, as codegen decides) get (6, 5) arrays, the others
    (5,) rows; values in [0.3, 0.9] keep every sqrt, log and reciprocal finite (and are
    valid decay rates for the optimiser kernels)."""
    args = []
    for p in inspect.signature(K[name]).parameters:
        if p == "out":
            continue
        shape = (6, 5) if p in codegen.ELEMENTWISE else (5,)
        args.append((p, rng.uniform(0.3, 0.9, shape)))
    return args


def test_some_kernels_are_in_place():
    names = _kernels_with_out()
    for must in ("batchnorm_backward_input", "softmax_ce_gradient", "log_softmax"):
        assert must in names


@pytest.mark.parametrize("name", _kernels_with_out())
def test_out_equals_plain_evaluation_also_when_aliased(name, rng):
    args = _arguments(name, rng)
    values = [v for _, v in args]
    with np.errstate(all="raise"):
        want = K[name](*values)
    out = np.full(np.broadcast_shapes(*(v.shape for v in values)), np.nan)
    assert K[name](*values, out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-15)
    for i, (p, v) in enumerate(args):  # out is one of the per-element inputs
        if v.shape != out.shape:
            continue
        aliased = [w.copy() for w in values]
        result = K[name](*aliased, out=aliased[i])
        np.testing.assert_allclose(result, want, rtol=1e-13, atol=1e-15,
                                   err_msg=f"out aliasing argument {p}")
        np.testing.assert_allclose(aliased[i], want, rtol=1e-13, atol=1e-15)


def _demo(expr, args):
    return codegen.kernel_source(Conclusion("k", expr, tuple(args), "demo"),
                                 Derivation("demo", "demo", "none"))


def test_in_place_chain_has_no_per_element_temporaries():
    g, xhat, gm, gxm, gamma, inv_std = sp.symbols("g xhat g_mean g_xhat_mean gamma inv_std")
    src = _demo(gamma * inv_std * (g - gm - gxm * xhat), [g, xhat, gm, gxm, gamma, inv_std])
    lines = src.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "        return out") + 1
    steps = [line.strip() for line in lines[start:lines.index("    return out")]]
    assert steps and all(s.endswith(", out=out)") for s in steps), src
    assert "may_share_memory(out, g)" in src  # g is read after out is first written
    assert "may_share_memory(out, xhat)" not in src  # xhat only by the first step


def test_two_per_element_operands_fall_back_to_plain_evaluation():
    g, xhat, gamma, c = sp.symbols("g xhat gamma c")
    src = _demo(g * gamma - c * xhat * g, [g, xhat, gamma, c])  # g·γ and c·x̂·g
    assert "out=out" not in src and "out=None" not in src
