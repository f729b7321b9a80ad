"""``nnmath train``: an MLP with BatchNorm and Dropout learns two interleaved spirals.

The data set is generated here (``two_spirals``); the network is
Linear → BatchNorm → ReLU → Dropout → Linear → BatchNorm → ReLU → Dropout → Linear,
trained with Adam on mini-batches and the softmax cross-entropy, evaluated on a held-out
split in eval mode (running BatchNorm statistics, dropout off). Everything random comes
from one ``numpy.random.Generator`` seeded by ``seed``. The command ``nnmath train``
(proofs/cli/train.py) parses its options and calls ``train``.
"""
from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np

from . import init, layers, optim


def two_spirals(n_per_class: int, *, rng: np.random.Generator, turns: float = 1.75,
                noise: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals in the plane: points (x, labels) with labels 0 and 1.

    Class k is r·(cos(θ + kπ), sin(θ + kπ)), θ ∈ [0, 2π·turns], r = 3θ/(2π·turns), plus
    Gaussian noise of standard deviation ``noise``."""
    if n_per_class < 2:
        raise ValueError(f"two_spirals: n_per_class must be at least 2, got {n_per_class}")
    theta = np.sqrt(rng.uniform(0, 1, 2 * n_per_class)) * turns * 2 * np.pi
    labels = np.repeat([0, 1], n_per_class)
    r = theta / (turns * 2 * np.pi) * 3
    angle = theta + np.pi * labels
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    x += rng.normal(0, noise * 0.5, x.shape)
    order = rng.permutation(x.shape[0])
    return x[order], labels[order]


def build_mlp(hidden: int, p_drop: float, *, rng: np.random.Generator) -> layers.Sequential:
    return layers.Sequential(
        layers.Linear(2, hidden, rng=rng, init=init.he_normal), layers.BatchNorm(hidden),
        layers.ReLU(), layers.Dropout(p_drop, rng=rng),
        layers.Linear(hidden, hidden, rng=rng, init=init.he_normal), layers.BatchNorm(hidden),
        layers.ReLU(), layers.Dropout(p_drop, rng=rng),
        layers.Linear(hidden, 2, rng=rng, init=init.xavier_normal))


@dataclasses.dataclass
class Result:
    train_accuracy: float
    test_accuracy: float
    final_loss: float
    epochs: int
    seconds: float
    n_params: int


def accuracy(model: layers.Sequential, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.forward(x, train=False).argmax(axis=1) == y))


def train(*, seed: int = 0, epochs: int = 60, hidden: int = 64, p_drop: float = 0.1,
          lr: float = 0.01, batch: int = 64, n_per_class: int = 1000,
          progress: bool = True, out=None) -> Result:
    out = out or sys.stdout
    for name, value in (("epochs", epochs), ("batch", batch), ("hidden", hidden)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"train: {name} must be a positive integer, got {value!r}")
    if batch < 2:
        raise ValueError("train: batch must be at least 2 (training-mode BatchNorm "
                         f"normalises over the batch), got {batch}")
    rng = np.random.default_rng(seed)
    x, y = two_spirals(n_per_class, rng=rng)
    n_test = x.shape[0] // 4
    x_test, y_test, x_train, y_train = x[:n_test], y[:n_test], x[n_test:], y[n_test:]
    model = build_mlp(hidden, p_drop, rng=rng)
    loss_fn = layers.SoftmaxCrossEntropy()
    opt = optim.Adam(model.params, lr=lr)
    start = time.perf_counter()
    loss = float("nan")
    for epoch in range(1, epochs + 1):
        order = rng.permutation(x_train.shape[0])
        losses = []
        for i in range(0, len(order) - 1, batch):
            idx = order[i:i + batch]
            if idx.size < 2:  # training-mode BatchNorm needs two rows
                continue
            logits = model.forward(x_train[idx], train=True)
            losses.append(loss_fn.forward(logits, y_train[idx]))
            model.backward(loss_fn.backward())
            opt.step(model.grads)
        loss = float(np.mean(losses))
        if progress and (epoch % 10 == 0 or epoch == 1 or epoch == epochs):
            print(f"epoch {epoch:3d}/{epochs}  loss {loss:.4f}  "
                  f"held-out accuracy {accuracy(model, x_test, y_test):6.1%}  "
                  f"({time.perf_counter() - start:.1f} s)", file=out, flush=True)
    seconds = time.perf_counter() - start
    return Result(accuracy(model, x_train, y_train), accuracy(model, x_test, y_test), loss,
                  epochs, seconds, sum(p.size for p in model.params.values()))
