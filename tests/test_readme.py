"""The README's Python examples, run exactly as written.

Every ```python block of README.md is extracted. A block that defines pytest tests is the
"Test your own code" example: it is saved as ``test_student.py`` and run with pytest in a
fresh process (the nnmath pytest plugin supplies ``nnmath_exact`` and ``nnmath_rng``); the
README says both tests fail, saying what differs, and that both pass with the two fixes it
names, so the test checks exactly that, applying the fixes as the README spells them.
Every other block is executed as a script; a ``print`` whose comment announces ``True``
must print ``True``.
"""
from __future__ import annotations

import contextlib
import io
import pathlib
import re
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
STUDENT = [b for b in BLOCKS if re.search(r"^def test_", b, re.M)]
SCRIPTS = [b for b in BLOCKS if b not in STUDENT]


def test_readme_has_the_examples():
    assert len(STUDENT) == 1 and "nnmath_exact" in STUDENT[0]
    assert SCRIPTS


def _fixed(code: str) -> str:
    """The student's code with the README's two fixes ("With the fixes (`A`; `B`) both
    pass"): A appended to the expression on the line marked "forgot the 1/(1 - p)
    rescaling"; B in place of B-without-"- g.mean(0)" on the line marked "forgot -
    g.mean(0)"."""
    text = README.read_text(encoding="utf-8")
    m = re.search(r"With the fixes \(`([^`]*)`; `([^`]*)`\) both pass", text)
    assert m, "the README no longer names the two fixes"
    scale, bn = m.group(1), m.group(2)
    lines = code.splitlines()
    for i, line in enumerate(lines):
        if "forgot the 1/(1 - p) rescaling" in line:
            expr, comment = line.split("#", 1)
            lines[i] = f"{expr.rstrip()} {scale}  #{comment}"
        elif "forgot - g.mean(0)" in line:
            wrong = bn.replace(" - g.mean(0)", "")
            assert wrong in line, f"{wrong!r} not in {line!r}"
            lines[i] = line.replace(wrong, bn)
    return "\n".join(lines) + "\n"


def _pytest(folder: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p",
                           "no:cacheprovider", "--rootdir", str(folder), str(folder)],
                          check=False, capture_output=True, text=True, cwd=folder,
                          timeout=300)


def test_student_example_as_written_fails_and_with_the_fixes_passes(tmp_path):
    """One pytest process runs the example as written (test_student.py: both tests must
    fail, naming the foil and the missing batch-mean term) and with the README's fixes
    (test_fixed.py: both must pass)."""
    (tmp_path / "test_student.py").write_text(STUDENT[0], encoding="utf-8")
    fixed = _fixed(STUDENT[0])
    assert fixed != STUDENT[0]
    (tmp_path / "test_fixed.py").write_text(fixed, encoding="utf-8")
    run = _pytest(tmp_path)
    out = run.stdout
    failed = sorted(re.findall(r"^FAILED (\S+?)::(\S+)", out, re.M))
    assert failed == [("test_student.py", "test_bn_backward"),
                      ("test_student.py", "test_dropout_keeps_the_mean")], \
        out[-3000:] + run.stderr[-2000:]
    assert "2 failed, 2 passed" in out, out[-3000:]
    assert "matches the foil" in out  # the dropout verdict names the foil
    assert "batch-mean" in out  # the backward diagnosis names the missing term


@pytest.mark.parametrize("block", SCRIPTS, ids=lambda b: b.splitlines()[1][:40])
def test_script_examples_run(block):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {"__name__": "__readme__"})
    announced = re.findall(r"print\(.*\)\s*#\s*(True|False)\b", block)
    if announced:
        assert out.getvalue().split()[-len(announced):] == announced
