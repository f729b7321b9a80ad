"""``nnmath verify --plots DIR``: figures where a picture reads faster than a table.

* ``depth_propagation.png``: per-layer second moment against depth for ReLU + He,
  ReLU + 1/n (002's printed snippet) and tanh + 1/n, forward and backward: predicted
  (mean-field recursion with derive's moments) as lines, simulated (width 4096) as points
  with ±3 SE bars; log₂ scale.
* ``dropout_variance.png``: Var of inverted dropout on ReLU(N(0, 1)) against the drop
  probability p: derive's 1/(2(1 − p)) − 1/(2π) as a line, Monte Carlo points ±3 SE, and
  the foil Var[h]/(1 − p) dashed.

matplotlib is an optional extra (``pip install nnmath[plots]``).
"""
from __future__ import annotations

import os


def unavailable() -> str:
    """'' if matplotlib can be imported, else a message saying how to get it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ("matplotlib is not installed; install the optional extra with "
                "`pip install nnmath[plots]` (or `pip install matplotlib`)")
    return ""


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def depth_figure(path: str, seed: int, quick: bool = False) -> str:
    import numpy as np

    from .claims import depth
    from .claims.initialization import BATCH, LAYERS, gaussian_moments
    from .stats.runner import seed_for
    plt = _pyplot()
    inits = {"ReLU + He (2/n)": ("relu", 2.0), "ReLU + 1/n (002's snippet)": ("relu", 1.0),
             "tanh + 1/n": ("tanh", 1.0)}
    width = 1024 if quick else 4096
    sims = depth.simulate(inits, seed_for(seed, "plots/depth", 0), width=width, batch=BATCH)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for (name, (act, c)), colour in zip(inits.items(), ("C0", "C3", "C2")):
        fwd, bwd = depth.predict(act, c, LAYERS, gaussian_moments)
        res = sims[name]
        layers_f = np.arange(1, LAYERS + 1)
        layers_b = np.arange(0, LAYERS)
        for ax, xs, pred, est, rv in ((axes[0], layers_f, fwd, res["forward"],
                                       res["forward_relvar"]),
                                      (axes[1], layers_b, bwd, res["backward"],
                                       res["backward_relvar"])):
            pred_a, est_a = np.array(pred), np.array(est)
            se = pred_a * np.sqrt(np.array(rv)) * np.sqrt(4096 / width)
            ax.plot(xs, pred_a, "-", color=colour, label=f"{name}: predicted")
            ax.errorbar(xs, est_a, yerr=3 * se, fmt="o", color=colour, ms=4, capsize=2,
                        label=f"{name}: simulated (±3 SE)")
    axes[0].set_title(f"forward: E[h_l²] (width {width}, batch {BATCH})")
    axes[1].set_title("backward: E[g_l²] (gradient w.r.t. layer input)")
    for ax in axes:
        ax.set_yscale("log", base=2)
        ax.set_xlabel("layer l")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("second moment")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("depth propagation, 002 §9.4.5: mean-field prediction vs simulation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def dropout_figure(path: str, seed: int, quick: bool = False) -> str:
    import numpy as np
    import sympy as sp

    from .claims import exact_value, to_float
    from .stats.runner import seed_for
    from .stats.sampler import dropout_relu_power_sums
    plt = _pyplot()
    grid = np.linspace(0, 0.9, 200)
    expr = exact_value("dropout-variance", "dropout_variance_relu_standard")
    p_sym = next(s for s in expr.free_symbols if s.name == "p")
    line = sp.lambdify(p_sym, expr, "numpy")(grid)
    eh = to_float(exact_value("relu-moments", "relu_gaussian_mean", sigma=1))
    eh2 = to_float(exact_value("relu-moments", "relu_gaussian_second_moment", sigma=1))
    foil = (eh2 - eh ** 2) / (1 - grid)
    ps = np.round(np.arange(0.0, 0.91, 0.1), 2)
    n = 1 << (18 if quick else 22)
    est, err = [], []
    for i, p in enumerate(ps):
        s = dropout_relu_power_sums(n, seed_for(seed, "plots/dropout", i), float(p))
        v, sd = s.variance()
        est.append(v)
        err.append(3 * sd / np.sqrt(s.n))
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(grid, line, "-", label="derived: 1/(2(1−p)) − 1/(2π)")
    ax.plot(grid, foil, "--", color="grey", label="foil: Var[h]/(1−p)")
    ax.errorbar(ps, est, yerr=err, fmt="o", ms=4, capsize=2,
                label=f"Monte Carlo, {n:,} samples (±3 SE)")
    ax.set_xlabel("drop probability p")
    ax.set_ylabel("Var[dropout(ReLU(z))], z ~ N(0, 1)")
    ax.set_title("inverted dropout variance (000 §1.2)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_all(directory: str, *, seed: int, quick: bool = False) -> list[str]:
    problem = unavailable()
    if problem:
        raise RuntimeError(problem)
    os.makedirs(directory, exist_ok=True)
    return [depth_figure(os.path.join(directory, "depth_propagation.png"), seed, quick),
            dropout_figure(os.path.join(directory, "dropout_variance.png"), seed, quick)]
