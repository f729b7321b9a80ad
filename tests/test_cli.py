"""The command line as a user runs it."""
import subprocess
import sys

import pytest

import derive
from proofs.cli import main


def nnmath(*args):
    return subprocess.run([sys.executable, "-m", "proofs.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False)


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
        assert "\\documentclass" not in out and ("\\[" in out or "\\begin" in out)
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


def test_every_subcommand_is_a_module_with_add_arguments_and_run():
    import importlib

    from proofs.cli import COMMANDS
    for name in COMMANDS:
        module = importlib.import_module(f"proofs.cli.{name}")
        assert callable(module.add_arguments) and callable(module.run), name


def test_list_shows_the_parts_of_every_row(capsys):
    from derive.catalog import ROWS
    from proofs import claims
    from proofs.cli.list import kernel_slugs

    assert main(["list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()
             if line and not line.startswith(("#", "slug"))}
    kernels = kernel_slugs()
    # the kernels named in the generated files are exactly the K rows with a derivation
    assert kernels == {r.slug for r in ROWS if derive.Kind.K in r.kinds
                       and r.slug in derive.entries()}
    for r in ROWS:
        line = lines[r.slug]
        parts = line[line.index(str(r.kinds)) + 8:][:5]
        assert (parts[0] == "D") == (r.slug in derive.entries()), line
        assert (parts[1] == "K") == (r.slug in kernels), line
        assert (parts[2] == "C") == (r.slug in claims.entries()), line
    assert " DKC  " in lines["batchnorm-backward"]


def test_list_section_filters_and_a_missing_section_is_one_line(capsys):
    assert main(["list", "--section", "3"]) == 0
    out = capsys.readouterr().out
    assert "batchnorm-backward" in out and "dropout-mean" not in out
    run = nnmath("list", "--section", "99")
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "no catalog section 99" in run.stderr


def test_an_internal_error_keeps_its_traceback(monkeypatch):
    import proofs.cli.list as list_command

    def broken(args):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(list_command, "run", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["list"])


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "proofs.cli", "errata"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # like `nnmath errata | head -1`
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and b"Traceback" not in err and b"Exception" not in err


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        run = subprocess.run([sys.executable, "-m", "proofs.cli", "list"], stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "No space left" in run.stderr


@pytest.mark.parametrize("args, says", [
    (["--hidden", "10000000"], "at most|between 1 and 4,096"),
    (["--points", "2000000000"], "points per spiral"),
    (["--lr", "inf"], "finite"),
    (["--lr", "nan"], "finite"),
    (["--epochs", "1e9"], "whole number"),
    (["--hidden", "4096", "--batch", "100000", "--points", "100000"], "GiB"),
])
def test_train_refuses_before_any_work(args, says, capsys):
    import re
    assert main(["train", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert re.search(says, captured.err)


def test_every_entry_point_lives_in_proofs_cli():
    import importlib
    import pkgutil

    import numeric
    for info in pkgutil.iter_modules(numeric.__path__):
        if info.name in ("kernels", "codegen"):
            continue  # codegen imports SymPy; its entry point is proofs/cli/codegen.py
        module = importlib.import_module(f"numeric.{info.name}")
        assert not hasattr(module, "add_arguments"), f"numeric.{info.name} parses options"
    source = (__import__("pathlib").Path(numeric.__file__).parent / "codegen.py").read_text()
    assert "argparse" not in source
