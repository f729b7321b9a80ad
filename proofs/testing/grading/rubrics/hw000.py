"""Rubric hw000: the seed-000 homework (a one-hidden-layer MLP with dropout, BatchNorm,
softmax cross-entropy, backprop and He initialisation; 000 §1–§3), as code.

The functions and conventions the homework asks for (those of the seed):

* ``dropout(h, p, rng, train=True)``: inverted dropout, p the probability of DROPPING a
  unit, m ~ Bernoulli(1 − p) drawn from the NumPy Generator ``rng``, out = m·h/(1 − p);
  out = h when ``train`` is false (000 §1, §1.1);
* ``batchnorm_forward(Y, gamma, beta, eps)``: batch rows, per feature column the batch mean
  and the biased variance ν, γ(Y − μ)/√(ν + ε) + β (000 §2);
* ``batchnorm_backward(dYhat, Y, gamma, beta, eps) -> (dY, dgamma, dbeta)`` (000 §2.3);
* ``softmax_cross_entropy(logits, labels) -> (loss, dlogits)``: logits (B, K), labels class
  indices (B,), the MEAN over the batch of −log softmax(z)_label (000 §3.1);
* ``mlp_backward(x, ybar, Ws, bs) -> (dWs, dbs)``: one example in the column convention of
  000 §3, h_0 = x, z_i = W_i h_{i−1} + b_i, h_i = ReLU(z_i) for i = 1..L, y = softmax(h_L),
  ℓ = −Σ_k ȳ_k log y_k; W_i has shape (D_i, D_{i−1}), b_i (D_i,), and the gradients have
  the shapes of the parameters (000 §3.2);
* ``he_init(fan_in, fan_out, rng)``: W of shape (fan_out, fan_in), i.i.d. zero-mean
  normal with Var w = 2/fan_in (000 §3.3).

Moments are tested against the exact values derive gives (relu-moments, dropout-variance,
he-init through ``numeric.reference.he_normal_std``) by z-tests at false-fail rate 1e-6,
designed to separate the typical mistake (the foil) at false-pass rate 1e-6.
"""
from __future__ import annotations

import itertools

import numpy as np

from numeric import reference as R
from proofs.testing import DesignError, assert_mean, assert_variance
from proofs.testing.grading import batch, check, unbiased_foil, expect, pure_call, returns

TITLE = "Homework 000: dropout moments, BatchNorm, softmax cross-entropy, MLP backprop, He init"
P_DROP = 0.3
EPS = 1e-5
EXACT = {
    "relu_mean": ("relu-moments", "relu_gaussian_mean", {"sigma": 1}),
    "relu_variance": ("relu-moments", "relu_gaussian_variance", {"sigma": 1}),
    "dropout_variance": ("dropout-variance", "dropout_variance_relu_standard", {"p": P_DROP}),
}


def _moment(kind, sampler_or_samples, expected, foil, what, why_foil, **kw):
    test = assert_mean if kind == "mean" else assert_variance
    try:
        test(sampler_or_samples, expected, foil=foil, name=what, **kw)
    except DesignError as exc:  # cannot happen with these foils; a rubric bug if it does
        raise RuntimeError(f"rubric design: {exc}") from None
    except AssertionError as exc:
        text = str(exc)
        if "matches the foil" in text:
            text += f": {why_foil}"
        raise AssertionError(text) from None


def _relu_batch(n, rng):
    return np.maximum(rng.standard_normal(n), 0.0)


@check(points=2, needs="dropout(h, p, rng, train=True)")
def dropout_keep_rate(student, ctx):
    """Each unit is kept with probability 1 − p (000 §1.3); test mode is the identity."""
    h = ctx.rng.uniform(0.5, 2.0, 200_000)
    out = np.asarray(pure_call(student.dropout, "dropout", h, P_DROP, ctx.rng,
                               names=("h", "p", "rng")), dtype=np.float64)
    if out.shape != h.shape:
        raise AssertionError(f"dropout: output has shape {out.shape}, expected {h.shape}")
    _moment("mean", (out != 0).astype(float), 1 - P_DROP, P_DROP,
            f"dropout (p = {P_DROP}): fraction of units kept",
            "keep and drop probabilities swapped? p is the probability of DROPPING a unit")
    test = pure_call(student.dropout, "dropout", h, P_DROP, ctx.rng, False,
                     names=("h", "p", "rng", "train"))
    expect(test, h, "dropout (train=False): output",
           advice="At test time dropout is the identity (000 §1)")


@check(points=2, needs="dropout(h, p, rng, train=True)")
def dropout_mean(student, ctx):
    """E[dropout(ReLU z)] = E[ReLU z] = 1/√(2π) for z ~ N(0, 1) (000 §1.1)."""
    mean = ctx.exact["relu_mean"]
    _moment("mean", lambda n, rng: student.dropout(_relu_batch(n, rng), P_DROP, rng),
            mean, (1 - P_DROP) * mean, f"dropout(ReLU(z)), p = {P_DROP}: mean",
            "the 1/(1 − p) rescaling of the kept units is missing", seed=ctx.rng)


@check(points=2, needs="dropout(h, p, rng, train=True)")
def dropout_variance(student, ctx):
    """Var[dropout(ReLU z)] = 1/(2(1 − p)) − 1/(2π) (000 §1.2)."""
    _moment("variance", lambda n, rng: student.dropout(_relu_batch(n, rng), P_DROP, rng),
            ctx.exact["dropout_variance"], ctx.exact["relu_variance"] / (1 - P_DROP),
            f"dropout(ReLU(z)), p = {P_DROP}: variance",
            "Var[h]/(1 − p), as if the mask scaled the variance instead of the second moment",
            seed=ctx.rng)


def _bn_inputs(rng, tiny=False):
    y = batch(rng, 16, 5, tiny=tiny)
    return y, rng.uniform(0.5, 2, 5), rng.uniform(-1, 1, 5)


@check(points=2, needs="batchnorm_forward(Y, gamma, beta, eps)")
def batchnorm_forward(student, ctx):
    """γ(Y − μ)/√(ν + ε) + β per column with the biased batch variance (000 §2)."""
    names = ("Y", "gamma", "beta", "eps")
    y, gamma, beta = _bn_inputs(ctx.rng)
    out = pure_call(student.batchnorm_forward, "batchnorm_forward", y, gamma, beta, EPS,
                    names=names)
    expect(out, R.batchnorm_forward(y, gamma, beta, EPS), "batchnorm_forward: output",
           foils={"the statistics taken along each row (axis 1) instead of over the batch "
                  "(axis 0): wrong axis": R.layernorm_forward(y, gamma, beta, EPS),
                  "BatchNorm without ε (eps = 0)": R.batchnorm_forward(y, gamma, beta, 0.0),
                  "the unbiased variance (ddof = 1, dividing by N − 1) instead of the biased "
                  "one": unbiased_foil(y, gamma, beta, EPS)})
    y, gamma, beta = _bn_inputs(ctx.rng, tiny=True)
    y[:, 0] = -0.5  # a constant feature
    out = pure_call(student.batchnorm_forward, "batchnorm_forward", y, gamma, beta, EPS,
                    names=names)
    with np.errstate(all="ignore"):
        no_eps = R.batchnorm_forward(y, gamma, beta, 0.0)
    expect(out, R.batchnorm_forward(y, gamma, beta, EPS),
           "batchnorm_forward: output (column 0 constant, last column of variance 1e-6)",
           foils={"BatchNorm without ε (eps = 0)": no_eps})


@check(points=3, needs="batchnorm_backward(dYhat, Y, gamma, beta, eps)")
def batchnorm_backward(student, ctx):
    """dY, dγ = Σ g·Ẑ, dβ = Σ g (000 §2.3)."""
    y, gamma, beta = _bn_inputs(ctx.rng)
    g = ctx.rng.standard_normal(y.shape)
    got = returns(pure_call(student.batchnorm_backward, "batchnorm_backward", g, y, gamma,
                            beta, EPS, names=("dYhat", "Y", "gamma", "beta", "eps")),
                  "batchnorm_backward", ("dY", "dgamma", "dbeta"))
    want = R.batchnorm_backward(g, y, gamma, beta, EPS)
    direct = gamma * g / np.sqrt(y.var(axis=0) + EPS)  # the term without ∂μ, ∂ν
    n = y.shape[0]
    foils = {f"the ∂μ and ∂ν terms without their 1/B (missing 1/N, B = {n})":
             direct + n * (want[0] - direct),
             "no ∂μ, ∂ν terms at all (batch statistics treated as constants)": direct,
             "the gradient without ε (eps = 0)": R.batchnorm_backward(g, y, gamma, beta,
                                                                      0.0)[0]}
    expect(got[0], want[0], "batchnorm_backward: dY", foils=foils)
    expect(got[1], want[1], "batchnorm_backward: dgamma")
    expect(got[2], want[2], "batchnorm_backward: dbeta")


@check(points=3, needs="softmax_cross_entropy(logits, labels)")
def softmax_cross_entropy(student, ctx):
    """Mean cross-entropy and (softmax − onehot)/B, also for logits around 1000."""
    b, k = 8, 10
    labels = ctx.rng.integers(0, k, b)
    hints = {f"B = {b}: a sum over the batch where the mean belongs?": b}
    for label, z in (("", 2 * ctx.rng.standard_normal((b, k))),
                     (" (logits around 1000)", 1000 + 5 * ctx.rng.standard_normal((b, k)))):
        loss, dz = returns(pure_call(student.softmax_cross_entropy, "softmax_cross_entropy",
                                     z, labels, names=("logits", "labels")),
                           "softmax_cross_entropy", ("loss", "dlogits"))
        want_loss, want_dz = R.softmax_cross_entropy(z, labels)
        advice = "Subtract each row's maximum before exponentiating" if label else ""
        expect(loss, want_loss, f"softmax_cross_entropy{label}: loss", hints=hints,
               advice=advice)
        expect(dz, want_dz, f"softmax_cross_entropy{label}: dlogits", hints=hints,
               advice=advice)


def _mlp_reference(x, ybar, Ws, bs):
    """Gradients of 000 §3's loss through numeric.reference (row convention, batch of 1)."""
    hs, zs = [x[None, :]], []
    for W, b in zip(Ws, bs):
        zs.append(R.affine_forward(hs[-1], W.T, b))
        hs.append(R.relu_forward(zs[-1]))
    _, g = R.softmax_cross_entropy(hs[-1], ybar[None, :])
    dWs, dbs = [], []
    for i in reversed(range(len(Ws))):
        g = R.relu_backward(g, zs[i])
        g, dw, db = R.affine_backward(g, hs[i], Ws[i].T, bs[i])
        dWs.insert(0, dw.T)
        dbs.insert(0, db)
    return dWs, dbs


@check(points=4, needs="mlp_backward(x, ybar, Ws, bs)")
def mlp_backward(student, ctx):
    """∂ℓ/∂W_i = δ_i h_{i−1}ᵀ, ∂ℓ/∂b_i = δ_i, δ_i = σ'(z_i) ⊙ W_{i+1}ᵀ δ_{i+1} (000 §3.1–3.2)."""
    dims = [6, 5, 4, 3]
    x = ctx.rng.standard_normal(dims[0])
    Ws = [ctx.rng.standard_normal((o, i)) * np.sqrt(2 / i) for i, o in itertools.pairwise(dims)]
    bs = [ctx.rng.uniform(0.1, 0.5, o) for o in dims[1:]]
    ybar = np.eye(dims[-1])[ctx.rng.integers(dims[-1])]
    got = returns(pure_call(student.mlp_backward, "mlp_backward", x, ybar, Ws, bs,
                            names=("x", "ybar", "Ws", "bs")), "mlp_backward", ("dWs", "dbs"))
    want_W, want_b = _mlp_reference(x, ybar, Ws, bs)
    for what, g_list, w_list in (("dWs", got[0], want_W), ("dbs", got[1], want_b)):
        if not isinstance(g_list, (list, tuple)) or len(g_list) != len(w_list):
            raise AssertionError(f"mlp_backward: {what} must be a list of {len(w_list)} "
                                 f"arrays (one per layer), got {type(g_list).__name__}")
        for i, (g, w) in enumerate(zip(g_list, w_list)):
            expect(np.reshape(g, w.shape) if np.size(g) == w.size and what == "dbs" else g,
                   w, f"mlp_backward: {what}[{i}] (layer {i + 1})")


@check(points=2, needs="he_init(fan_in, fan_out, rng)")
def he_init(student, ctx):
    """W of shape (fan_out, fan_in), mean 0, Var w = 2/fan_in (000 §3.3)."""
    fan_in, fan_out = 256, 512
    W = np.asarray(student.he_init(fan_in, fan_out, ctx.rng), dtype=np.float64)
    if W.shape != (fan_out, fan_in):
        raise AssertionError(f"he_init: W has shape {W.shape}, expected (fan_out, fan_in) = "
                             f"{(fan_out, fan_in)}" + (": transposed?" if W.shape ==
                                                      (fan_in, fan_out) else ""))
    var = float(R.he_normal_std(fan_in)) ** 2
    _moment("variance", W.ravel(), var, 1 / fan_in, "he_init: Var w",
            "the variance is 1/fan_in (LeCun/Xavier), not He's 2/fan_in")
    _moment("mean", W.ravel(), 0.0, None, "he_init: mean of w", "")
