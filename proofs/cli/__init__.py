"""The ``nnmath`` command line: every subcommand, one module each.

It lives in ``proofs`` because proofs is the one package allowed to depend on both others
(derive <- numeric.codegen; proofs -> derive, numeric). ``proofs/cli/NAME.py`` implements
``nnmath NAME`` and exposes ``add_arguments(parser)`` and ``run(args) -> int``; it is
imported only when that subcommand runs, so ``nnmath show`` never pays for NumPy kernels
and ``nnmath train`` never pays for SymPy.

Exit status: 0 done; 1 a claim failed, or an internal error (with its traceback: a bug,
never disguised as bad input); 2 bad input (``UsageError`` or an argparse error), reported
on one line before any expensive work.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from typing import NoReturn


class UsageError(Exception):
    """Bad input from the user (an option value, an unknown slug, an unparsable expression).

    ``main`` prints it as one line ``nnmath COMMAND: error: …`` and exits with status 2.
    Raise it only for input the user can correct; anything else is a bug and keeps its
    traceback (exit 1).
    """


# name -> one-line help; the module is proofs.cli.<name>
COMMANDS = {
    "list": "list every catalog row, its source, and which parts exist",
    "show": "print a derivation as text or LaTeX",
    "errata": "list the statements in the sources that nnmath refutes",
    "codegen": "write (or --check) the NumPy kernels generated from derive",
    "verify": "run the Monte Carlo and gradient claims",
    "train": "train a small MLP (BatchNorm, Dropout) on two spirals",
    "activation": "analyse your own activation function",
    "gains": "derived initialisation gains vs the conventional table",
    "grade": "grade a class's submissions against a rubric, each in its own process",
    "book": "one course document: derivations by section, errata, verdicts, figures",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option raises ``UsageError`` (one line) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


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
    epilog = "commands:\n" + "\n".join(f"  {k:<11} {v}" for k, v in COMMANDS.items())
    return _Parser(
        prog="nnmath", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Machine-checked mathematics of neural-network training.",
        epilog=epilog + "\n\n`nnmath COMMAND --help` describes one command.")


def main(argv: list[str] | None = None) -> int:
    """Run ``nnmath ARGV``; return the exit status (see the module docstring)."""
    argv = [*(sys.argv[1:] if argv is None else argv)]  # (`list` is the submodule here)
    if not argv:
        _top_parser().print_help()
        return 2
    name = argv[0]
    try:
        if name not in COMMANDS:
            if name in ("-h", "--help"):
                _top_parser().print_help()
                return 0
            raise UsageError(f"unknown command {name!r} (commands: {', '.join(COMMANDS)})")
        module = importlib.import_module(f"proofs.cli.{name}")
        parser = _Parser(prog=f"nnmath {name}", description=COMMANDS[name])
        module.add_arguments(parser)
        args = parser.parse_args(argv[1:])
        status = int(module.run(args) or 0)
        _flush()
        return status
    except UsageError as exc:
        prog = "nnmath" if name not in COMMANDS else f"nnmath {name}"
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`nnmath list | head -1`): stop quietly
        _silence_stdout()
        return 0
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS or exc.filename is not None:
            raise  # not a failed write to stdout: a bug or a file problem, with traceback
        _silence_stdout()  # e.g. `nnmath list > /dev/full`
        print(f"nnmath {name}: error: cannot write the output: {exc.strerror}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# a write to stdout that cannot succeed: disk full, quota, file too large, device gone
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EPIPE}


def _flush() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()  # write errors surface here, not at interpreter exit


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
