"""``nnmath train``: an MLP with BatchNorm and Dropout learns two interleaved spirals;
``nnmath train --model transformer``: a tiny Transformer learns key–value retrieval.

The training loops are ``numeric.train.train`` and ``numeric.train_transformer.train``;
this module parses and checks the options.
Every option is validated by its argparse type (and the memory estimate before any
array is allocated), so a bad value is a one-line error with exit status 2.
"""
from __future__ import annotations

import argparse
import math

from . import UsageError, nonnegative_int

MAX_EPOCHS = 10_000
MAX_HIDDEN = 4096  # one hidden×hidden float64 weight matrix: 128 MiB
MAX_POINTS = 1_000_000  # per spiral
MAX_BATCH = 1_000_000
MEMORY_LIMIT = 2 * 1024**3  # bytes: the estimate below must stay under 2 GiB


def _whole_number(text: str, what: str, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of {what}, "
                                         f"got {text!r}") from None
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"{what} must be between {lo:,} and {hi:,}, "
                                         f"got {value:,}")
    return value


def epochs(text: str) -> int:
    return _whole_number(text, "epochs", 1, MAX_EPOCHS)


def hidden_width(text: str) -> int:
    return _whole_number(text, "hidden units", 1, MAX_HIDDEN)


def points(text: str) -> int:
    return _whole_number(text, "points per spiral", 2, MAX_POINTS)


def batch_size(text: str) -> int:
    # training-mode BatchNorm normalises over the batch: it needs two rows
    return _whole_number(text, "rows per batch (BatchNorm needs at least 2)", 2, MAX_BATCH)


def _real(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number for the {what}, "
                                         f"got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"the {what} must be a finite number, got {text}")
    return value


def learning_rate(text: str) -> float:
    value = _real(text, "learning rate")
    if not 0 < value <= 10:
        raise argparse.ArgumentTypeError(f"the learning rate must be in (0, 10], got {value}")
    return value


def drop_probability(text: str) -> float:
    value = _real(text, "dropout drop probability")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"the dropout drop probability must be in [0, 1), got {value}")
    return value


MAX_STEPS = 1_000_000


def steps(text: str) -> int:
    return _whole_number(text, "training steps", 1, MAX_STEPS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=("mlp", "transformer"), default="mlp",
                        help="mlp: two spirals (default); transformer: key–value retrieval "
                        "with attention (uses --seed, --steps, --lr, --batch, --quiet)")
    parser.add_argument("--steps", type=steps, default=600,
                        help="transformer: Adam steps (default 600)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the one Generator")
    parser.add_argument("--epochs", type=epochs, default=60,
                        help=f"passes over the training split (1 to {MAX_EPOCHS:,})")
    parser.add_argument("--hidden", type=hidden_width, default=64,
                        help=f"width of both hidden layers (1 to {MAX_HIDDEN})")
    parser.add_argument("--p-drop", type=drop_probability, default=0.1,
                        help="dropout DROP probability in [0, 1) (default 0.1)")
    parser.add_argument("--lr", type=learning_rate, default=None,
                        help="Adam learning rate in (0, 10] (default 0.01 for the MLP, "
                        "0.003 for the transformer)")
    parser.add_argument("--batch", type=batch_size, default=64, help="rows per mini-batch")
    parser.add_argument("--points", type=points, default=1000,
                        help=f"points per spiral (2 to {MAX_POINTS:,})")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def memory_estimate(hidden: int, n_points: int, batch: int) -> int:
    """Bytes of float64 arrays a run holds at once, generously: parameters with their
    gradients and Adam's two moments (4 copies), about 12 activation arrays of one
    mini-batch, and the data set with its shuffled copies (about 8 copies of 2 columns)."""
    params = hidden * hidden + 8 * hidden + 2 * hidden + 2
    rows = min(batch, 2 * n_points)
    return 8 * (4 * params + 12 * rows * hidden + 8 * 2 * 2 * n_points)


def _run_transformer(args: argparse.Namespace) -> int:
    from numeric.train_transformer import train as train_transformer

    lr = 0.003 if args.lr is None else args.lr
    print(f"key–value retrieval: 6 key–value tokens (12 keys, 12 values) and a query; "
          f"Transformer: embedding, 1 Pre-LN block (2 heads, width 32), read-out of the "
          f"query token; Adam lr={lr}, batch {args.batch}, {args.steps} steps, seed "
          f"{args.seed}")
    r = train_transformer(seed=args.seed, steps=args.steps, lr=lr, batch=args.batch,
                          progress=not args.quiet)
    print(f"done: {r.steps} steps in {r.seconds:.1f} s, {r.n_params} parameters; final "
          f"training loss {r.final_loss:.4f}; accuracy train {r.train_accuracy:.1%}, "
          f"held-out {r.test_accuracy:.1%}")
    return 0 if r.test_accuracy >= 0.95 else 1


def run(args: argparse.Namespace) -> int:
    if args.model == "transformer":
        if args.batch > 4096:
            raise UsageError(f"--batch {args.batch}: the transformer takes at most 4,096 "
                             "sequences per step")
        return _run_transformer(args)
    if args.lr is None:
        args.lr = 0.01
    need = memory_estimate(args.hidden, args.points, args.batch)
    if need > MEMORY_LIMIT:
        raise UsageError(f"--hidden {args.hidden}, --points {args.points}, --batch "
                         f"{args.batch} need about {need / 1024**3:.1f} GiB; the limit is "
                         f"{MEMORY_LIMIT / 1024**3:.0f} GiB")
    from numeric.train import train

    print(f"two spirals, {2 * args.points} points (25% held out); MLP 2-{args.hidden}-"
          f"{args.hidden}-2 with BatchNorm, ReLU, Dropout(p_drop={args.p_drop}); Adam "
          f"lr={args.lr}, batch {args.batch}, seed {args.seed}")
    r = train(seed=args.seed, epochs=args.epochs, hidden=args.hidden, p_drop=args.p_drop,
              lr=args.lr, batch=args.batch, n_per_class=args.points,
              progress=not args.quiet)
    print(f"done: {r.epochs} epochs in {r.seconds:.1f} s, {r.n_params} parameters; "
          f"final training loss {r.final_loss:.4f}; accuracy train {r.train_accuracy:.1%}, "
          f"held-out {r.test_accuracy:.1%}")
    return 0 if r.test_accuracy > 0.95 else 1
