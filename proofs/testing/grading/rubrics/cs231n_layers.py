"""Rubric cs231n-layers: the layer functions of a CS231n-style assignment (layers.py).

Signatures and conventions are the ones such assignments use: every forward returns
``(out, cache)``, every backward takes ``(dout, cache)``; x has shape (N, d_1, …, d_k) for
the affine layer (flattened to (N, D)), w (D, M), b (M,); ``bn_param`` holds 'mode',
'eps', 'momentum' (and the running averages, which the function may update in place);
``dropout_param['p']`` is the probability of KEEPING a unit (out = x·mask/p in training,
out = x in testing) and 'seed', when given, seeds ``np.random``; ``softmax_loss``
returns the MEAN cross-entropy over the batch and its gradient.

Every check compares with ``numeric.reference`` (float64, kernels generated from the
derivations) on data seeded per check, and fails when the function writes into an array
it was given (input, cache, upstream gradient).
"""
from __future__ import annotations

import numpy as np

from numeric import reference as R
from proofs.testing import DesignError, assert_mean
from proofs.testing.grading import batch, check, unbiased_foil, expect, pure_call, returns

TITLE = "CS231n-style layers: affine, ReLU, BatchNorm, LayerNorm, dropout, softmax loss"
MODULE = "layers"
EPS = 1e-5
P_KEEP = 0.8  # keep probability: p and 1 − p differ, so swapping them is visible


def _forward(f, fname, *args, names, allowed=()):
    out, cache = returns(pure_call(f, fname, *args, names=names, allowed=allowed), fname,
                         ("out", "cache"))
    return out, cache


def _backward(f, fname, dout, cache, outputs):
    return returns(pure_call(f, fname, dout, cache, names=("dout", "cache")), fname, outputs)


def _affine_data(rng):
    x = rng.standard_normal((4, 2, 3))
    w = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    return x, w, b


@check(points=1, needs=["affine_forward(x, w, b) -> (out, cache)"])
def affine_forward(student, ctx):
    """out = x·w + b with x flattened to (N, D)."""
    x, w, b = _affine_data(ctx.rng)
    out, _ = _forward(student.affine_forward, "affine_forward", x, w, b, names=("x", "w", "b"))
    expect(out, R.affine_forward(x, w, b), "affine_forward: out")


@check(points=2, needs=["affine_forward(x, w, b) -> (out, cache)",
                        "affine_backward(dout, cache) -> (dx, dw, db)"])
def affine_backward(student, ctx):
    """dx = dout·wᵀ (shaped like x), dw = xᵀ·dout, db = Σ_rows dout."""
    x, w, b = _affine_data(ctx.rng)
    dout = ctx.rng.standard_normal((4, 5))
    _, cache = _forward(student.affine_forward, "affine_forward", x, w, b,
                        names=("x", "w", "b"))
    grads = _backward(student.affine_backward, "affine_backward", dout, cache,
                      ("dx", "dw", "db"))
    for got, want, name in zip(grads, R.affine_backward(dout, x, w, b), ("dx", "dw", "db")):
        expect(got, want, f"affine_backward: {name}")


@check(points=1, needs=["relu_forward(x) -> (out, cache)"])
def relu_forward(student, ctx):
    """max(x, 0), leaving x unchanged."""
    x = ctx.rng.standard_normal((6, 7))
    out, _ = _forward(student.relu_forward, "relu_forward", x, names=("x",))
    expect(out, R.relu_forward(x), "relu_forward: out")


@check(points=1, needs=["relu_forward(x) -> (out, cache)", "relu_backward(dout, cache) -> dx"])
def relu_backward(student, ctx):
    """dx = dout where x > 0, else 0."""
    x = ctx.rng.standard_normal((6, 7))
    dout = ctx.rng.standard_normal((6, 7))
    _, cache = _forward(student.relu_forward, "relu_forward", x, names=("x",))
    (dx,) = _backward(student.relu_backward, "relu_backward", dout, cache, ("dx",))
    expect(dx, R.relu_backward(dout, x), "relu_backward: dx")


def _norm_data(rng, n=16, d=5, tiny=False):
    return batch(rng, n, d, tiny=tiny), rng.uniform(0.5, 2, d), rng.uniform(-1, 1, d)


def _bn(student, x, gamma, beta):
    param = {"mode": "train", "eps": EPS, "momentum": 0.9}
    return _forward(student.batchnorm_forward, "batchnorm_forward", x, gamma, beta, param,
                    names=("x", "gamma", "beta", "bn_param"), allowed=("bn_param",))


@check(points=3, needs=["batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)"])
def batchnorm_forward(student, ctx):
    """Training mode: per column, γ(x − μ)/√(ν + ε) + β with the batch mean μ and the
    biased batch variance ν; finite for a constant column, ε visible for a tiny-variance one."""
    x, gamma, beta = _norm_data(ctx.rng)
    out, _ = _bn(student, x, gamma, beta)
    expect(out, R.batchnorm_forward(x, gamma, beta, EPS), "batchnorm_forward: out",
           foils={"the statistics taken along each row (axis 1) instead of over the batch "
                  "(axis 0): wrong axis": R.layernorm_forward(x, gamma, beta, EPS),
                  "BatchNorm without ε (eps = 0)": R.batchnorm_forward(x, gamma, beta, 0.0),
                  "the unbiased variance (ddof = 1, dividing by N − 1) instead of the biased "
                  "one": unbiased_foil(x, gamma, beta, EPS)})
    x, gamma, beta = _norm_data(ctx.rng, tiny=True)
    x[:, 0] = 1.5  # a constant feature: variance 0
    out, _ = _bn(student, x, gamma, beta)
    with np.errstate(all="ignore"):
        no_eps = R.batchnorm_forward(x, gamma, beta, 0.0)
    expect(out, R.batchnorm_forward(x, gamma, beta, EPS),
           "batchnorm_forward: out (column 0 constant, last column of variance 1e-6)",
           foils={"BatchNorm without ε (eps = 0)": no_eps})


def _forward_note(f, fname, args, want) -> str:
    """A sentence for a backward check when the student's own forward pass is already wrong
    (its cache is then suspect too)."""
    try:
        out = f(*[a.copy() if isinstance(a, (np.ndarray, dict)) else a for a in args])[0]
        wrong = np.shape(out) != np.shape(want) or not np.allclose(out, want, rtol=1e-6,
                                                                   atol=1e-8)
    except Exception:
        wrong = True
    return (f"Note: {fname} is already wrong on these inputs (see its check); the cache "
            "it builds may be the cause") if wrong else ""


def _direct_term(dout, x, gamma):
    """γ·dout/√(ν + ε): the part of BatchNorm's dx without the batch-mean terms."""
    return gamma * dout / np.sqrt(x.var(axis=0) + EPS)


@check(points=3, needs=["batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)",
                        "batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)"])
def batchnorm_backward(student, ctx):
    """dx = γ/√(ν+ε)·(dout − mean dout − x̂·mean(dout·x̂)), dγ = Σ dout·x̂, dβ = Σ dout."""
    x, gamma, beta = _norm_data(ctx.rng)
    dout = ctx.rng.standard_normal(x.shape)
    _, cache = _bn(student, x, gamma, beta)
    grads = _backward(student.batchnorm_backward, "batchnorm_backward", dout, cache,
                      ("dx", "dgamma", "dbeta"))
    want = R.batchnorm_backward(dout, x, gamma, beta, EPS)
    direct = _direct_term(dout, x, gamma)
    n = x.shape[0]
    foils = {f"the batch-mean terms summed instead of averaged (missing 1/N, N = {n})":
             direct + n * (want[0] - direct),
             "no batch-mean terms at all (μ and ν treated as constants)": direct,
             "the gradient without ε (eps = 0)": R.batchnorm_backward(dout, x, gamma, beta,
                                                                      0.0)[0]}
    note = _forward_note(student.batchnorm_forward, "batchnorm_forward",
                         (x, gamma, beta, {"mode": "train", "eps": EPS, "momentum": 0.9}),
                         R.batchnorm_forward(x, gamma, beta, EPS))
    expect(grads[0], want[0], "batchnorm_backward: dx", foils=foils, advice=note)
    expect(grads[1], want[1], "batchnorm_backward: dgamma", advice=note)
    expect(grads[2], want[2], "batchnorm_backward: dbeta", advice=note)


def _ln(student, x, gamma, beta):
    return _forward(student.layernorm_forward, "layernorm_forward", x, gamma, beta,
                    {"eps": EPS}, names=("x", "gamma", "beta", "ln_param"),
                    allowed=("ln_param",))


@check(points=2, needs=["layernorm_forward(x, gamma, beta, ln_param) -> (out, cache)"])
def layernorm_forward(student, ctx):
    """Each row normalised over its features: γ(x − μ_row)/√(ν_row + ε) + β."""
    x = ctx.rng.standard_normal((8, 6)) * ctx.rng.uniform(0.5, 3, (8, 1)) \
        + ctx.rng.uniform(-2, 2, (8, 1))
    gamma, beta = ctx.rng.uniform(0.5, 2, 6), ctx.rng.uniform(-1, 1, 6)
    out, _ = _ln(student, x, gamma, beta)
    expect(out, R.layernorm_forward(x, gamma, beta, EPS), "layernorm_forward: out",
           foils={"the statistics taken over the batch (axis 0, as BatchNorm does) instead "
                  "of over each row's features (axis 1)":
                  R.batchnorm_forward(x, gamma, beta, EPS)})


@check(points=2, needs=["layernorm_forward(x, gamma, beta, ln_param) -> (out, cache)",
                        "layernorm_backward(dout, cache) -> (dx, dgamma, dbeta)"])
def layernorm_backward(student, ctx):
    """BatchNorm's backward along each row; dγ and dβ still summed over the batch."""
    x = ctx.rng.standard_normal((8, 6)) * ctx.rng.uniform(0.5, 3, (8, 1))
    gamma, beta = ctx.rng.uniform(0.5, 2, 6), ctx.rng.uniform(-1, 1, 6)
    dout = ctx.rng.standard_normal(x.shape)
    _, cache = _ln(student, x, gamma, beta)
    grads = _backward(student.layernorm_backward, "layernorm_backward", dout, cache,
                      ("dx", "dgamma", "dbeta"))
    want = R.layernorm_backward(dout, x, gamma, beta, EPS)
    note = _forward_note(student.layernorm_forward, "layernorm_forward",
                         (x, gamma, beta, {"eps": EPS}), R.layernorm_forward(x, gamma, beta, EPS))
    for got, w, name in zip(grads, want, ("dx", "dgamma", "dbeta")):
        expect(got, w, f"layernorm_backward: {name}", advice=note)


def _dropout(student, x, param):
    return _forward(student.dropout_forward, "dropout_forward", x, param,
                    names=("x", "dropout_param"), allowed=("dropout_param",))


@check(points=3, needs=["dropout_forward(x, dropout_param) -> (out, cache)"])
def dropout_forward(student, ctx):
    """Training: each unit kept with probability p and scaled by 1/p (inverted dropout);
    testing: out = x."""
    p = P_KEEP
    x = ctx.rng.uniform(0.5, 2.0, (100, 200))
    out, _ = _dropout(student, x, {"p": p, "mode": "train", "seed": 123})
    out = np.asarray(out, dtype=np.float64)
    if out.shape != x.shape:
        raise AssertionError(f"dropout_forward: out has shape {out.shape}, expected {x.shape}")
    if not np.all(np.isfinite(out)):
        raise AssertionError("dropout_forward: out contains NaN or inf")
    kept = out != 0
    try:
        assert_mean(kept.astype(float), p, foil=1 - p, name="fraction of units kept")
    except (AssertionError, DesignError) as exc:
        swapped = abs(kept.mean() - (1 - p)) < 0.01
        raise AssertionError(
            f"dropout_forward (training, p = {p}): {exc}"
            + ("; keep and drop probabilities swapped? dropout_param['p'] is the probability "
               "of KEEPING a unit" if swapped else "")) from None
    scale = out[kept] / x[kept]
    if not np.allclose(scale, 1 / p, rtol=1e-9):
        typical = float(np.median(scale))
        why = {1.0: "kept units are not rescaled: inverted dropout divides them by p",
               1 / (1 - p): "kept units are divided by 1 − p; p is the KEEP probability, "
                            "divide by p"}
        hint = next((v for k, v in why.items() if abs(typical - k) < 1e-9), "")
        raise AssertionError(f"dropout_forward (training, p = {p}): kept units are scaled by "
                             f"{typical:.6g}, expected 1/p = {1 / p:.6g}"
                             + (f": {hint}" if hint else ""))
    again, _ = _dropout(student, x, {"p": p, "mode": "train", "seed": 123})
    if not np.array_equal(np.asarray(again) != 0, kept):
        raise AssertionError("dropout_forward: two calls with the same dropout_param['seed'] "
                             "dropped different units: seed np.random with it when it is given")
    out_test, _ = _dropout(student, x, {"p": p, "mode": "test"})
    expect(out_test, x, "dropout_forward (test mode): out",
           advice="In test mode inverted dropout is the identity")


@check(points=2, needs=["dropout_forward(x, dropout_param) -> (out, cache)",
                        "dropout_backward(dout, cache) -> dx"])
def dropout_backward(student, ctx):
    """dx = dout·mask/p with the SAME mask as the forward pass; dx = dout in test mode."""
    p = P_KEEP
    x = ctx.rng.uniform(0.5, 2.0, (50, 40))
    dout = ctx.rng.standard_normal(x.shape)
    out, cache = _dropout(student, x, {"p": p, "mode": "train", "seed": 7})
    mask = (np.asarray(out) != 0).astype(float)
    (dx,) = _backward(student.dropout_backward, "dropout_backward", dout, cache, ("dx",))
    dx = np.asarray(dx, dtype=np.float64)
    if dx.shape == x.shape:
        leak = int(np.sum((mask == 0) & (dx != 0)))
        lost = int(np.sum((mask == 1) & (dx == 0)))
        if leak or lost:
            raise AssertionError(
                f"dropout_backward: dx is nonzero at {leak} entries whose unit the forward "
                f"pass dropped, and zero at {lost} entries it kept: the forward pass's mask "
                "is not reused (keep it in the cache)")
    forward_ok = np.allclose(np.asarray(out), R.dropout_forward(x, mask, 1 - p), rtol=1e-9)
    expect(dx, R.dropout_backward(dout, mask, 1 - p), "dropout_backward: dx",
           hints={"1/p missing in the backward pass?": p},
           advice="" if forward_ok else "Note: dropout_forward scales the kept units wrongly "
                  "too (see its check)")
    _, cache = _dropout(student, x, {"p": p, "mode": "test"})
    (dx,) = _backward(student.dropout_backward, "dropout_backward", dout, cache, ("dx",))
    expect(dx, dout, "dropout_backward (test mode): dx")


@check(points=3, needs=["softmax_loss(x, y) -> (loss, dx)"])
def softmax_loss(student, ctx):
    """Mean over the batch of −log softmax(x)_y and its gradient (softmax(x) − onehot(y))/N,
    also for logits around 1000 (the max-shift keeps them finite)."""
    n, c = 8, 10
    y = ctx.rng.integers(0, c, n)
    hints = {f"N = {n}: a sum over the batch where the mean belongs?": n,
             f"1/N = 1/{n}: divided by N twice?": 1 / n}
    for label, x in (("", 2 * ctx.rng.standard_normal((n, c))),
                     (" (logits around 1000)", 1000 + 5 * ctx.rng.standard_normal((n, c)))):
        loss, dx = returns(pure_call(student.softmax_loss, "softmax_loss", x, y,
                                     names=("x", "y")), "softmax_loss", ("loss", "dx"))
        want_loss, want_dx = R.softmax_cross_entropy(x, y)
        advice = ("Subtract each row's maximum before exponentiating" if label else "")
        expect(loss, want_loss, f"softmax_loss{label}: loss", hints=hints, advice=advice)
        expect(dx, want_dx, f"softmax_loss{label}: dx", hints=hints, advice=advice)
