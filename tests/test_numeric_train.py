"""`nnmath train`: a real training run reaches > 95% held-out accuracy."""
import io

import numpy as np
import pytest

from numeric import train
from proofs.cli import main


def test_short_training_run_beats_95_percent():
    out = io.StringIO()
    r = train.train(seed=1, epochs=25, out=out)
    assert r.test_accuracy > 0.95, out.getvalue()
    assert "held-out accuracy" in out.getvalue()


def test_cli_train_prints_progress_and_summary(capsys):
    assert main(["train", "--epochs", "20", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "epoch  10/20" in out and "done: 20 epochs" in out and "held-out" in out


def test_spirals_are_reproducible_and_balanced():
    a = train.two_spirals(100, rng=np.random.default_rng(3))
    b = train.two_spirals(100, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1].sum() == 100 and a[0].shape == (200, 2)
    with pytest.raises(ValueError, match="n_per_class"):
        train.two_spirals(1, rng=np.random.default_rng(0))


def test_package_docstring_example_runs():
    import doctest

    import numeric
    result = doctest.testmod(numeric, verbose=False)
    assert result.attempted >= 8 and result.failed == 0
