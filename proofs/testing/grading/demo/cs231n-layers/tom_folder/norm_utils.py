"""Helper module of a folder submission."""
import numpy as np


def normalise(x, axis, eps):
    mu = x.mean(axis=axis, keepdims=True)
    std = np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    return (x - mu) / std, std
