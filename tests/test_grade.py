"""nnmath grade: the demo classes are graded, every typical mistake is caught with a message
naming its symptom, correct submissions pass, hangs and memory hogs are stopped at their
limits while the rest of the class is graded, and the reports are complete."""
import csv
import json
import shutil

import pytest

from proofs.cli import main
from proofs.testing.grading import DEMO_DIR, load_rubric, shipped_rubrics
from proofs.testing.grading.rubric import import_file
from proofs.testing.grading.worker import run_check

# demo submission -> {failing check: words its message must contain}; other checks pass
CS231N = {
    "ada_correct": {},
    "tom_folder": {},
    "ben_bn_missing_mean_term": {"batchnorm backward": "same in every row"},
    "cleo_bn_unbiased_variance": {"batchnorm forward": "unbiased variance",
                                  "batchnorm backward": "already wrong"},
    "dev_bn_wrong_axis": {"batchnorm forward": "wrong axis",
                          "batchnorm backward": "already wrong"},
    "eli_bn_no_eps": {"batchnorm forward": "without ε", "batchnorm backward": "without ε"},
    "fay_ln_batch_axis": {"layernorm forward": "over the batch (axis 0",
                          "layernorm backward": "already wrong"},
    "gus_dropout_keep_drop_swapped": {"dropout forward": "swapped",
                                      "dropout backward": "scales the kept units wrongly"},
    "hal_dropout_no_rescaling": {"dropout forward": "not rescaled",
                                 "dropout backward": "scales the kept units wrongly"},
    "ivy_dropout_mask_not_reused": {"dropout backward": "mask is not reused"},
    "jon_softmax_no_max_shift": {"softmax loss": "row's maximum"},
    "kim_softmax_sum_not_mean": {"softmax loss": "a sum over the batch"},
    "lea_softmax_missing_1_over_n": {"softmax loss": "factor N (rows) = 8"},
    "max_affine_transposed_grad": {"affine backward": "transposed"},
    "nia_relu_in_place": {"relu forward": "wrote into its input x in place",
                          "relu backward": "wrote into its input x in place"},
    "oli_bn_backward_in_place": {"batchnorm backward": "wrote into its input dout in place"},
    "pat_hangs": {"softmax loss": "time limit"},
    "quin_memory_hog": {"layernorm forward": "memory limit",
                        "layernorm backward": "memory limit"},
    "sam_calls_sys_exit": {"affine backward": "sys.exit(0)"},
    "ray_import_error": "import failed",
}

HW000 = {
    "ada_correct": {},
    "ren_float32": {},
    "bo_dropout_no_rescaling": {"dropout mean": "rescaling of the kept units is missing",
                                "dropout variance": "variance is"},
    "cy_dropout_keep_drop_swapped": {"dropout keep rate": "swapped",
                                     "dropout variance": "variance is"},
    "di_bn_missing_mean_term": {"batchnorm backward": "same in every row"},
    "ed_bn_missing_1_over_n": {"batchnorm backward": "missing 1/N"},
    "fa_bn_no_eps": {"batchnorm forward": "without ε", "batchnorm backward": "without ε"},
    "gil_bn_unbiased_variance": {"batchnorm forward": "unbiased variance"},
    "hu_bn_wrong_axis": {"batchnorm forward": "wrong axis"},
    "io_softmax_no_max_shift": {"softmax cross entropy": "row's maximum"},
    "ju_softmax_sum_not_mean": {"softmax cross entropy": "a sum over the batch"},
    "ka_mlp_transposed_grad": {"mlp backward": "transposed"},
    "lu_he_xavier_variance": {"he init": "1/fan_in"},
    "mo_bn_backward_in_place": {"batchnorm backward": "wrote into its input dYhat in place"},
    "ned_hangs": {"he init": "time limit"},
    "ora_memory_hog": {"mlp backward": "memory limit"},
    "pia_import_error": "import failed",
    "quy_calls_sys_exit": "import failed",
}
PATHOLOGICAL = {"pat_hangs", "quin_memory_hog", "ray_import_error", "sam_calls_sys_exit",
                "ned_hangs", "ora_memory_hog", "pia_import_error", "quy_calls_sys_exit"}


def _grade(tmp_path, folder, rubric, *extra):
    out = tmp_path / "out"
    status = main(["grade", str(folder), "--rubric", rubric, "--out", str(out),
                   "--timeout", "2", "--jobs", "2", *extra])
    assert status == 0
    return out, json.loads((out / "grades.json").read_text())


def _assert_verdicts(report, expected):
    """Each demo fails exactly the checks listed, with the symptom words in the message."""
    rubric_checks = [c["name"] for c in report["rubric"]["checks"]]
    students = {s["student"]: s for s in report["students"]}
    assert set(students) == set(expected)
    for name, want in expected.items():
        s = students[name]
        checks = {c["name"]: c for c in s["checks"]}
        assert list(checks) == rubric_checks
        if want == "import failed":
            assert s["status"] == "import failed" and s["score"] == 0, name
            assert all("not graded" in c["message"] for c in checks.values()), name
            continue
        assert s["status"] == "graded", (name, s["notes"])
        failed = {n for n, c in checks.items() if not c["passed"]}
        assert failed == set(want), (name, {n: checks[n]["message"] for n in failed})
        for check, words in want.items():
            assert words in checks[check]["message"], (name, checks[check]["message"])
            assert checks[check]["points"] == 0
        assert s["score"] == sum(c["points"] for c in checks.values())
        if not want:
            assert s["score"] == report["rubric"]["total"]


def test_grade_list(capsys):
    assert main(["grade", "--list"]) == 0
    out = capsys.readouterr().out
    assert "cs231n-layers" in out and "hw000" in out
    assert set(shipped_rubrics()) == {"cs231n-layers", "hw000"}


@pytest.mark.parametrize("argv, words", [
    (["grade", "/no/such/folder", "--rubric", "hw000"], "no folder /no/such/folder"),
    (["grade", str(DEMO_DIR / "hw000"), "--rubric", "nope"],
     "shipped rubrics: cs231n-layers, hw000"),
    (["grade", str(DEMO_DIR / "hw000")], "--rubric"),
    (["grade", str(DEMO_DIR / "hw000"), "--rubric", "hw000", "--timeout", "-1"], "--timeout"),
])
def test_grade_bad_input_exits_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_grade_small_class_in_subprocesses(tmp_path, capsys):
    """A correct file, a correct folder, a mistake, a hang, a memory hog, an import error and
    sys.exit: the pathological ones are stopped at their limits and the others graded."""
    folder = tmp_path / "class"
    folder.mkdir()
    names = ["ada_correct", "tom_folder", "oli_bn_backward_in_place", "pat_hangs",
             "quin_memory_hog", "ray_import_error", "sam_calls_sys_exit"]
    for name in names:
        src = DEMO_DIR / "cs231n-layers" / name
        if src.is_dir():
            shutil.copytree(src, folder / name)
        else:
            shutil.copy(src.with_suffix(".py"), folder)
    out, report = _grade(tmp_path, folder, "cs231n-layers", "--timeout", "1")
    _assert_verdicts(report, {n: CS231N[n] for n in names})
    pat = next(s for s in report["students"] if s["student"] == "pat_hangs")
    assert "1 s of CPU time" in next(c["message"] for c in pat["checks"] if not c["passed"])
    # the reports: CSV gradebook, per-check feedback, Markdown summary, stdout summary
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert len(rows) == len(names)
    assert {r["student"]: float(r["score"]) for r in rows}["ada_correct"] == 23
    feedback = list(csv.DictReader((out / "feedback.csv").open()))
    assert len(feedback) == len(rows) * len(report["rubric"]["checks"])
    md = (out / "summary.md").read_text()
    assert "| ada_correct | 23/23 |" in md and "## Feedback" in md
    stdout = capsys.readouterr().out
    assert f"{len(names)} submissions graded against cs231n-layers" in stdout
    sam = next(s for s in report["students"] if s["student"] == "sam_calls_sys_exit")
    assert "dx (4, 2, 3)" in sam["stdout"]  # the student's prints are captured
    assert not list(tmp_path.glob("class/**/__pycache__"))  # the submissions are untouched


def test_grade_with_a_fresh_interpreter_per_process(tmp_path, monkeypatch):
    """The fallback start method (no fork server) grades the same way."""
    from proofs.testing.grading import runner
    monkeypatch.setattr(runner, "START", "exec")
    folder = tmp_path / "class"
    folder.mkdir()
    names = ["ada_correct", "sam_calls_sys_exit"]
    for name in names:
        shutil.copy(DEMO_DIR / "cs231n-layers" / f"{name}.py", folder)
    _, report = _grade(tmp_path, folder, "cs231n-layers")
    _assert_verdicts(report, {n: CS231N[n] for n in names})


def test_a_failing_grader_is_exit_1_with_its_traceback(tmp_path, capsys):
    """A rubric that breaks only inside the worker is the grader's failure, not a grade."""
    rubric = tmp_path / "broken_rubric.py"
    rubric.write_text("import os\nfrom proofs.testing.grading import check\n"
                      "if os.path.basename(os.getcwd()) == 'work':\n"
                      "    raise RuntimeError('broken only in the worker')\n\n"
                      "@check(points=1, needs=['f(x)'])\ndef f(student, ctx):\n    pass\n")
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(DEMO_DIR / "hw000" / "ada_correct.py", folder)
    assert main(["grade", str(folder), "--rubric", str(rubric), "--out",
                 str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "broken only in the worker" in err


def test_a_folder_named_proofs_where_the_ta_works_does_not_shadow_the_grader(tmp_path):
    """The fork server starts in the grader's folder: a (namespace) folder proofs/ in the
    working directory, e.g. a copy of the demo classes, must not replace the package."""
    import os
    import subprocess
    command = shutil.which("nnmath")  # the installed command: no working directory on sys.path
    if command is None:
        pytest.skip("the nnmath command is not installed")
    demo = tmp_path / "proofs" / "testing" / "grading" / "demo" / "class"
    demo.mkdir(parents=True)
    shutil.copy(DEMO_DIR / "cs231n-layers" / "ada_correct.py", demo)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([command, "grade", str(demo.relative_to(tmp_path)), "--rubric",
                          "cs231n-layers"], cwd=tmp_path, capture_output=True, text=True,
                         env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert "23/23  all checks passed" in run.stdout


def test_grade_hw000_small_class(tmp_path):
    """hw000 in subprocesses: exact values from derive reach the checks; float32 passes."""
    folder = tmp_path / "class"
    folder.mkdir()
    names = ["ada_correct", "ren_float32", "quy_calls_sys_exit"]
    for name in names:
        shutil.copy(DEMO_DIR / "hw000" / f"{name}.py", folder)
    _, report = _grade(tmp_path, folder, "hw000")
    _assert_verdicts(report, {n: HW000[n] for n in names})


@pytest.mark.slow
@pytest.mark.parametrize("rubric, expected", [("cs231n-layers", CS231N), ("hw000", HW000)])
def test_grade_demo_classes(tmp_path, rubric, expected):
    _, report = _grade(tmp_path, DEMO_DIR / rubric, rubric, "--timeout", "3")
    _assert_verdicts(report, expected)


def _load(rubric, path, tag):
    if path.is_dir():
        import sys
        sys.path.append(str(path))
        path = path / f"{rubric.module}.py"
    return import_file(path, f"_demo_{tag}_{path.parent.name}_{path.stem}".replace("-", "_"))


def _failures(rubric_name, path, seeds=(0,)):
    """Run every check of the rubric on one (trusted) demo submission in this process;
    return {check: message} of the failures."""
    from proofs.testing.grading.runner import exact_values

    rubric = load_rubric(rubric_name)
    exact = exact_values(rubric)
    module = _load(rubric, path, "s")
    failed = {}
    for seed in seeds:
        for chk in rubric.checks:
            try:
                run_check(rubric, chk, vars(module), seed, exact)
            except AssertionError as exc:
                failed[chk.name] = str(exc)
    return failed


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the mistakes overflow, divide by 0
@pytest.mark.parametrize("rubric, name, expected", [
    (rubric, name, want) for rubric, table in (("cs231n-layers", CS231N), ("hw000", HW000))
    for name, want in table.items() if name not in PATHOLOGICAL])
def test_every_typical_mistake_is_named(rubric, name, expected):
    path = DEMO_DIR / rubric / name
    failed = _failures(rubric, path if path.is_dir() else path.with_suffix(".py"))
    assert set(failed) == set(expected), failed
    for check, words in expected.items():
        assert words in failed[check], failed[check]


CORRECT = [("cs231n-layers", "ada_correct.py"), ("cs231n-layers", "tom_folder"),
           ("hw000", "ada_correct.py"), ("hw000", "ren_float32.py")]


@pytest.mark.parametrize("rubric, name", CORRECT)
def test_correct_submissions_pass_on_several_seeds(rubric, name):
    assert _failures(rubric, DEMO_DIR / rubric / name, range(1, 4)) == {}


@pytest.mark.slow
@pytest.mark.parametrize("rubric, name", CORRECT)
def test_correct_submissions_pass_on_many_seeds(rubric, name):
    assert _failures(rubric, DEMO_DIR / rubric / name, range(200)) == {}
