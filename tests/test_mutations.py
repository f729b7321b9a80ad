"""Mutation tests: numeric patched with a common mistake must make `nnmath verify --quick` fail.

Each mutation replaces one piece of ``numeric`` (in this process, with pytest's monkeypatch)
by the classic wrong version, then runs ``nnmath verify --quick --json`` in-process on the
claims that test that piece, and requires the command to fail (exit 1) with the named
claims failing on a verdict (a computed result that is wrong), not on an exception. A
control run without any mutation requires the same claims to pass, so a failure under a
mutation is the mutation's doing.

Mistakes (issue 15): dropout scaled by 1/p; BatchNorm backward without the −mean(g) term;
softmax cross-entropy gradient without the 1/B of the mean; He variance from fan_out;
Adam without bias correction; LayerNorm statistics over the batch axis.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from numeric import init, layers, optim
from proofs.cli import main


def _dropout_scaled_by_inverse_p(mp):
    original = layers.Dropout.forward

    def forward(self, x, *, train):
        if not train or self.p_drop in (0.0, 1.0):
            return original(self, x, train=train)
        keep = self.rng.random(x.shape) >= self.p_drop
        self.mask = keep.astype(x.dtype) / self.p_drop  # mistake: 1/p, not 1/(1 − p)
        self._cache = ("mask", x.shape)
        return x * self.mask
    mp.setattr(layers.Dropout, "forward", forward)


def _batchnorm_backward_without_mean(mp):
    original = layers.batchnorm_backward

    def batchnorm_backward(grad, xhat, gamma, inv_std, *, train=True, **kw):
        dx, dgamma, dbeta = original(grad, xhat, gamma, inv_std, train=train, **kw)
        if train:  # mistake: the −mean(g) term of γ/√(ν+ε)·(g − mean g − x̂·mean(g x̂))
            dx = dx + gamma * inv_std * grad.mean(axis=0)
        return dx, dgamma, dbeta
    mp.setattr(layers, "batchnorm_backward", batchnorm_backward)


def _softmax_ce_gradient_without_mean(mp):
    original = layers.softmax_cross_entropy

    def softmax_cross_entropy(z, y, **kw):
        loss, grad = original(z, y, **kw)
        return loss, grad * z.shape[0]  # mistake: p − y, the 1/B of the mean forgotten
    mp.setattr(layers, "softmax_cross_entropy", softmax_cross_entropy)


def _he_variance_from_fan_out(mp):
    def he_normal(rng, n_in, n_out):
        return rng.normal(0.0, float(np.sqrt(2.0 / n_out)), size=(n_in, n_out))  # mistake
    mp.setattr(init, "he_normal", he_normal)


def _adam_without_bias_correction(mp):
    def _update(self, key, p, g):
        m, v = self._zeros(key, "m"), self._zeros(key, "v")
        m[...] = self.beta1 * m + (1 - self.beta1) * g
        v[...] = self.beta2 * v + (1 - self.beta2) * g * g
        p -= self.lr * m / (np.sqrt(v) + self.eps)  # mistake: m, v used uncorrected
    mp.setattr(optim.Adam, "_update", _update)


def _layernorm_over_batch_axis(mp):
    def forward(self, x, *, train):
        x = layers.check_array(x, "LayerNorm input", ndim=2, features=self.n)
        mean = x.mean(axis=0, keepdims=True)  # mistake: BatchNorm's axis
        var = x.var(axis=0, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = (x - mean) * inv_std
        self._cache = (xhat, np.full((x.shape[0], 1), float(inv_std.mean())))
        return self.params["gamma"] * xhat + self.params["beta"]
    mp.setattr(layers.LayerNorm, "forward", forward)


# mutation -> (patch, claims run, claims that must fail)
MUTATIONS = {
    "dropout scaled by 1/p": (_dropout_scaled_by_inverse_p,
                              ["dropout-mean", "data188-dropout"],
                              ["dropout-mean", "data188-dropout"]),
    "BN backward without the mean term": (_batchnorm_backward_without_mean,
                                          ["batchnorm-backward"], ["batchnorm-backward"]),
    "softmax-CE gradient without 1/B": (_softmax_ce_gradient_without_mean,
                                        ["softmax-ce-gradient", "stable-softmax"],
                                        ["softmax-ce-gradient"]),
    "He variance from fan_out": (_he_variance_from_fan_out, ["he-init"], ["he-init"]),
    "Adam without bias correction": (_adam_without_bias_correction,
                                     ["optimizer-quadratic"], ["optimizer-quadratic"]),
    "LayerNorm over the batch axis": (_layernorm_over_batch_axis,
                                      ["data188-layernorm", "layernorm-backward"],
                                      ["data188-layernorm"]),
}


def _verify_quick(slugs, capsys) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["verify", "--quick", "--json", "--no-progress", *slugs])
    return code, json.loads(capsys.readouterr().out)


def _failed_on_a_verdict(claim: dict) -> bool:
    """The claim built and ran, and some assertion computed a result that was rejected."""
    return (not claim["ok"] and not claim["error"]
            and any(not a["ok"] and not a["error"] for a in claim["assertions"]))


def test_relevant_claims_pass_without_mutation(capsys):
    slugs = sorted({s for _, run, _ in MUTATIONS.values() for s in run})
    code, report = _verify_quick(slugs, capsys)
    failed = [c["slug"] for c in report["claims"] if not c["ok"]]
    assert code == 0 and not failed, f"unmutated numeric fails {failed}"


@pytest.mark.parametrize("mistake", list(MUTATIONS))
def test_mutation_fails_verify_quick(mistake, monkeypatch, capsys):
    patch, slugs, must_fail = MUTATIONS[mistake]
    patch(monkeypatch)
    code, report = _verify_quick(slugs, capsys)
    by_slug = {c["slug"]: c for c in report["claims"]}
    assert code == 1, f"{mistake}: `nnmath verify --quick {' '.join(slugs)}` passed"
    missed = [s for s in must_fail if not _failed_on_a_verdict(by_slug[s])]
    assert not missed, f"{mistake}: not caught by {missed}"
