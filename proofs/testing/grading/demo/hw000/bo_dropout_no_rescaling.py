"""Demo submission (mistake: dropout without the 1/(1 - p) rescaling)."""
import numpy as np


def dropout(h, p, rng, train=True):
    if not train:
        return h
    m = rng.random(h.shape) >= p          # kept with probability 1 - p
    return m * h


def batchnorm_forward(Y, gamma, beta, eps):
    mu = Y.mean(axis=0)
    nu = ((Y - mu) ** 2).mean(axis=0)
    Z = (Y - mu) / np.sqrt(nu + eps)
    return gamma * Z + beta


def batchnorm_backward(dYhat, Y, gamma, beta, eps):
    B = Y.shape[0]
    mu = Y.mean(axis=0)
    nu = ((Y - mu) ** 2).mean(axis=0)
    std = np.sqrt(nu + eps)
    Z = (Y - mu) / std
    dbeta = dYhat.sum(axis=0)
    dgamma = (dYhat * Z).sum(axis=0)
    gZ = dYhat * gamma
    dnu = (gZ * (Y - mu)).sum(axis=0) * (-0.5) * std ** -3
    dmu = (gZ * (-1 / std)).sum(axis=0) + dnu * (-2 / B) * (Y - mu).sum(axis=0)
    dY = gZ / std + dnu * 2 / B * (Y - mu) + dmu / B
    return dY, dgamma, dbeta


def softmax_cross_entropy(logits, labels):
    B = logits.shape[0]
    z = logits - logits.max(axis=1, keepdims=True)
    y = np.exp(z)
    y /= y.sum(axis=1, keepdims=True)
    loss = -np.log(y[np.arange(B), labels]).mean()
    d = y.copy()
    d[np.arange(B), labels] -= 1
    return loss, d / B


def mlp_backward(x, ybar, Ws, bs):
    hs, zs = [x], []
    for W, b in zip(Ws, bs):
        zs.append(W @ hs[-1] + b)
        hs.append(np.maximum(zs[-1], 0))
    e = np.exp(hs[-1] - hs[-1].max())
    y = e / e.sum()
    dh = y - ybar
    dWs, dbs = [], []
    for i in reversed(range(len(Ws))):
        delta = dh * (zs[i] > 0)
        dWs.insert(0, np.outer(delta, hs[i]))
        dbs.insert(0, delta)
        dh = Ws[i].T @ delta
    return dWs, dbs


def he_init(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_out, fan_in))
