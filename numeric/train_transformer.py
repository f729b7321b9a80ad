"""``nnmath train --model transformer``: a tiny Transformer learns key–value retrieval.

The task (``retrieval_task``) needs attention: a sequence holds ``pairs`` tokens, each a
key–value pair (one-hot key ⊕ one-hot value), followed by a query token carrying one of
those keys (one-hot key ⊕ zeros ⊕ a query flag); the target is the value paired with the
queried key. Keys within a sequence are distinct and values are drawn at random, so the
answer is in no fixed position and no per-token function can find it: the query has to
match its key against the other tokens' keys (a dot-product attention lookup) and copy
that token's value.

The model is built from numeric.attention: a linear embedding of every token, ``layers``
Pre-LN residual blocks (multi-head attention, no mask; a ReLU MLP), a final LayerNorm and
a linear read-out of the query token (the last one) to ``values`` classes, trained with
Adam on the mean softmax cross-entropy (layers.SoftmaxCrossEntropy). Every backward pass
is the generated kernels' algebra (attention_scores_backward, layernorm_backward_input,
relu_grad, softmax_ce_gradient). Everything random comes from one
``numpy.random.Generator`` seeded by ``seed``: same seed, same numbers.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import numpy as np

from . import init, layers, optim
from .attention import ResidualBlock, _Rows


def retrieval_task(n: int, *, keys: int, values: int, pairs: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): x of shape (n, pairs + 1, keys + values + 1), y of shape (n,) in
    [0, values). Token t < pairs is onehot(key_t) ⊕ onehot(value_t) ⊕ 0; the last token
    is onehot(key_q) ⊕ 0 ⊕ 1 with key_q one of the sequence's keys; y = value_q."""
    if pairs > keys:
        raise ValueError(f"retrieval_task: {pairs} pairs need at least as many keys, "
                         f"got {keys}")
    k = np.argsort(rng.random((n, keys)), axis=1)[:, :pairs]  # distinct keys per row
    v = rng.integers(0, values, (n, pairs))
    q = rng.integers(0, pairs, n)
    x = np.zeros((n, pairs + 1, keys + values + 1))
    rows = np.arange(n)[:, None]
    x[rows, np.arange(pairs), k] = 1.0
    x[rows, np.arange(pairs), keys + v] = 1.0
    x[np.arange(n), pairs, k[np.arange(n), q]] = 1.0
    x[:, pairs, -1] = 1.0
    return x, v[np.arange(n), q]


class RetrievalTransformer:
    """embed → ``depth`` Pre-LN ResidualBlocks → LayerNorm → read-out of the last token."""

    def __init__(self, n_in: int, n_out: int, *, d_model: int, heads: int, depth: int,
                 rng: np.random.Generator):
        self.embed = _Rows(layers.Linear(n_in, d_model, rng=rng, init=init.xavier_normal))
        self.blocks = [ResidualBlock(d_model, heads, 2 * d_model, norm="pre", rng=rng)
                       for _ in range(depth)]
        self.norm = _Rows(layers.LayerNorm(d_model))
        self.head = layers.Linear(d_model, n_out, rng=rng, init=init.xavier_normal)
        self.parts: dict[str, Any] = {"embed": self.embed, "norm": self.norm,
                                      "head": self.head}
        self.parts.update({f"block{i}": b for i, b in enumerate(self.blocks)})

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{n}.{k}": v for n, p in self.parts.items() for k, v in p.params.items()}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{n}.{k}": v for n, p in self.parts.items() for k, v in p.grads.items()}

    def forward(self, x: np.ndarray, *, train: bool) -> np.ndarray:
        h = self.embed.forward(x, train=train)
        for block in self.blocks:
            h = block.forward(h, train=train)
        h = self.norm.forward(h, train=train)
        self._shape = h.shape
        return self.head.forward(np.ascontiguousarray(h[:, -1]), train=train)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        g = np.zeros(self._shape)
        g[:, -1] = self.head.backward(grad)
        g = self.norm.backward(g)
        for block in reversed(self.blocks):
            g = block.backward(g)
        return self.embed.backward(g)


@dataclasses.dataclass
class Result:
    train_accuracy: float
    test_accuracy: float
    final_loss: float
    steps: int
    seconds: float
    n_params: int


def accuracy(model: RetrievalTransformer, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.forward(x, train=False).argmax(axis=1) == y))


def train(*, seed: int = 0, steps: int = 600, d_model: int = 32, heads: int = 2,
          depth: int = 1, keys: int = 12, values: int = 12, pairs: int = 6,
          lr: float = 3e-3, batch: int = 64, n_train: int = 20_000, n_test: int = 2_000,
          progress: bool = True, out: Any = None) -> Result:
    """Train on ``n_train`` sequences for ``steps`` Adam steps of ``batch`` sequences and
    report accuracy on ``n_test`` held-out sequences (drawn from the same task)."""
    out = out or sys.stdout
    for name, value in (("steps", steps), ("batch", batch), ("d_model", d_model),
                        ("heads", heads), ("depth", depth + 1), ("n_train", n_train),
                        ("n_test", n_test)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"train: {name} must be a positive integer (depth: ≥ 0), "
                             f"got {value if name != 'depth' else depth!r}")
    rng = np.random.default_rng(seed)
    x_train, y_train = retrieval_task(n_train, keys=keys, values=values, pairs=pairs,
                                      rng=rng)
    x_test, y_test = retrieval_task(n_test, keys=keys, values=values, pairs=pairs, rng=rng)
    model = RetrievalTransformer(x_train.shape[-1], values, d_model=d_model, heads=heads,
                                 depth=depth, rng=rng)
    loss_fn = layers.SoftmaxCrossEntropy()
    opt = optim.Adam(model.params, lr=lr)
    start = time.perf_counter()
    losses: list[float] = []
    report = {round(steps * k / 6) for k in range(1, 7)}
    for step in range(1, steps + 1):
        idx = rng.integers(0, n_train, batch)
        logits = model.forward(x_train[idx], train=True)
        losses.append(loss_fn.forward(logits, y_train[idx]))
        model.backward(loss_fn.backward())
        opt.step(model.grads)
        if progress and step in report:
            print(f"step {step:5d}/{steps}  loss {np.mean(losses[-50:]):.4f}  "
                  f"held-out accuracy {accuracy(model, x_test, y_test):6.1%}  "
                  f"({time.perf_counter() - start:.1f} s)", file=out, flush=True)
    seconds = time.perf_counter() - start
    final = float(np.mean(losses[-min(len(losses), 20):]))
    return Result(accuracy(model, x_train[:n_test], y_train[:n_test]),
                  accuracy(model, x_test, y_test), final, steps, seconds,
                  sum(p.size for p in model.params.values()))
