"""nnmath.numeric: NumPy kernels generated from the derivations, and a small layer stack.

Nothing here imports SymPy or derive at run time (only ``numeric.codegen`` does).

Build, train and gradient-check a network (everything random through one Generator):

>>> import numpy as np
>>> from numeric import layers as L, optim, gradcheck
>>> rng = np.random.default_rng(0)
>>> net = L.Sequential(L.Linear(2, 16, rng=rng), L.BatchNorm(16), L.ReLU(),
...                    L.Dropout(0.1, rng=rng), L.Linear(16, 2, rng=rng))
>>> loss, opt = L.SoftmaxCrossEntropy(), optim.Adam(net.params, lr=0.01)
>>> x, y = rng.standard_normal((32, 2)), rng.integers(0, 2, 32)
>>> value = loss.forward(net.forward(x, train=True), y)
>>> _ = net.backward(loss.backward()); opt.step(net.grads)
>>> all(c.ok for c in gradcheck.check_layer(net, x, rng=rng))
True

Commands: ``nnmath train`` (two spirals), ``nnmath codegen [--check]``.
"""
