"""The command line as a user runs it."""
import subprocess
import sys

import pytest

import derive
from proofs.cli import main


def nnmath(*args):
    return subprocess.run([sys.executable, "-m", "proofs.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_list_shows_every_registered_slug(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for slug in derive.entries():
        assert slug in out


def test_unknown_slug_suggests_and_exits_2():
    run = nnmath("show", "batchnorm-backwrd")
    assert run.returncode == 2
    assert "batchnorm-backward" in run.stderr


@pytest.mark.parametrize("flags", [[], ["--text"], ["--latex"], ["--standalone"]])
def test_show_formats(flags, capsys):
    slug = next(iter(derive.entries()))
    assert main(["show", slug, *flags]) == 0
    out = capsys.readouterr().out
    if "--standalone" in flags:
        assert out.startswith("\\documentclass")
    elif "--latex" in flags:  # a fragment to \input into a document
        assert "\\documentclass" not in out and "\\[" in out or "\\begin" in out
    else:
        assert slug in out


def test_no_command_prints_usage_and_exits_2():
    run = nnmath()
    assert run.returncode == 2 and "commands:" in run.stdout


def test_claim_only_rows_are_shown_with_how_to_verify(capsys):
    from proofs import claims

    claim_only = [s for s in claims.entries() if s not in derive.entries()]
    assert claim_only, "the catalog has claim-only rows (e.g. depth-propagation)"
    for slug in claim_only:
        assert main(["show", slug]) == 0
        assert f"nnmath verify {slug}" in capsys.readouterr().out


def test_errata_lists_every_recorded_erratum(capsys):
    # every X row of the catalog, and any erratum a derivation records, is listed
    recorded = [e.slug for s in derive.entries() for e in derive.get(s).errata]
    assert main(["errata"]) == 0
    out = capsys.readouterr().out
    for slug in recorded:
        assert slug in out
    for slug in ("data188-layernorm", "dropout-convention", "kaiming-snippet", "ema-unroll",
                 "momentum", "adadelta", "mixup"):
        assert f"nnmath show {slug}" in out


@pytest.mark.parametrize("args, says", [
    (["verify", "--seed", "-3", "dropout-mean"], "--seed"),
    (["train", "--epochs", "0"], "epochs"),
    (["train", "--batch", "1"], "batch"),
    (["train", "--lr", "-1"], "learning rate"),
    (["train", "--p-drop", "1.5"], "drop probability"),
    (["activation", "--seed", "-1", "x"], "--seed"),
])
def test_bad_options_exit_2_with_a_message_and_no_traceback(args, says):
    run = nnmath(*args)
    assert run.returncode == 2, run.stderr
    assert says in run.stderr and "Traceback" not in run.stderr
