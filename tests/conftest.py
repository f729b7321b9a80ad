import shutil

import pytest


def pytest_report_header(config):
    tex = shutil.which("pdflatex")
    return f"pdflatex: {tex or 'not found (LaTeX compile tests will skip)'}"


@pytest.fixture
def rng():
    import numpy as np
    return np.random.default_rng(20261121)
