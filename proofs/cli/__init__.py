"""The ``nnmath`` command line.

It lives in ``proofs`` because proofs is the one package allowed to depend on both others
(derive <- numeric.codegen; proofs -> derive, numeric). Each subcommand's module is
imported only when that subcommand runs, so ``nnmath show`` never pays for NumPy kernels
and ``nnmath train`` never pays for SymPy.

A subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

class UsageError(Exception):
    """Bad input from the user (an option value, an unknown slug, an unparsable expression).

    ``main`` prints it as one line ``nnmath COMMAND: error: …`` and exits with status 2.
    Raise it only for input the user can correct; anything else is a bug and keeps its
    traceback (exit 1).
    """


# name -> (module, one-line help)
COMMANDS = {
    "list": ("proofs.cli.catalog", "list every derivation and claim with its source"),
    "show": ("proofs.cli.catalog", "print a derivation as text or LaTeX"),
    "errata": ("proofs.cli.catalog", "list the statements in the sources that nnmath refutes"),
    "codegen": ("numeric.codegen", "write (or --check) the NumPy kernels generated from derive"),
    "verify": ("proofs.cli.verify", "run the Monte Carlo and gradient claims"),
    "train": ("numeric.train", "train a small MLP (BatchNorm, Dropout) on two spirals"),
    "activation": ("proofs.cli.activation", "analyse your own activation function"),
    "gains": ("proofs.cli.gains", "derived initialisation gains vs the conventional table"),
}


def nonnegative_int(text: str) -> int:
    """argparse type for seeds and counts: a whole number ≥ 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 0, got {value}")
    return value


def _top_parser() -> argparse.ArgumentParser:
    epilog = "commands:\n" + "\n".join(f"  {k:<11} {v[1]}" for k, v in COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="nnmath", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Machine-checked mathematics of neural-network training.",
        epilog=epilog + "\n\n`nnmath COMMAND --help` describes one command.")
    parser.add_argument("command", choices=list(COMMANDS), metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        parser = _top_parser()
        if not argv:
            parser.print_help()
            return 2
        parser.parse_args(argv[:1])  # prints help or a clear error, exits
        return 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"nnmath {name}", description=COMMANDS[name][1])
    adder = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
    runner = getattr(module, f"run_{name}", None) or module.run
    adder(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(runner(args) or 0)
    except UsageError as exc:
        print(f"nnmath {name}: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad input found past argparse: say what, exit 2
        print(f"nnmath {name}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `nnmath show ... | head`
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
