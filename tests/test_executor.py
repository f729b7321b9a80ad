"""The sampling executor (proofs/stats/executor.py): chunk streams, in-order merging, the
same bits on every backend and worker count, lost workers retried or reported."""
import functools
import io
import os

import numpy as np
import pytest

from proofs.stats import executor as X
from proofs.stats import progress
from proofs.stats.sampler import PowerSums, dropout_relu_power_sums, power_sums


# ---- chunk functions (module level, so worker processes can import them) -----------------
def normal_pair_chunk(stream, m):
    z = np.random.default_rng(stream).standard_normal(m)
    return X.Moments.of(z, z * z + 0.5 * z)


def dying_chunk(stream, m, marker_dir, die_at):
    """Kills its worker process the first time chunk ``die_at`` runs (a marker file
    remembers), then behaves like normal_pair_chunk."""
    key = int(stream.spawn_key[-1])
    marker = os.path.join(marker_dir, f"died-{key}")
    if key == die_at and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(3)
    return normal_pair_chunk(stream, m)


def always_dying_chunk(stream, m, die_at):
    if int(stream.spawn_key[-1]) == die_at:
        os._exit(3)
    return normal_pair_chunk(stream, m)


JOB = X.Job(normal_pair_chunk, (), chunk=10_000)
N = 1_000_003  # not a multiple of the chunk: the last chunk is short


def _bits(ms: X.Moments) -> tuple:
    return (ms.n, ms.mean, ms.m2)


# ---- summaries --------------------------------------------------------------------------
def test_merged_moments_equal_numpy_on_the_whole_sample():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_001)
    y = 3 * x + rng.standard_normal(10_001)
    parts = np.array_split(np.arange(x.size), 7)
    total = X.Moments(0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0)))
    for idx in parts:
        total = total + X.Moments.of(x[idx], y[idx])
    assert total.n == x.size
    assert np.allclose(total.mean, [x.mean(), y.mean()], rtol=1e-12)
    assert np.allclose([[total.cov(0, 0), total.cov(0, 1)], [total.cov(1, 0), total.cov(1, 1)]],
                       np.cov(x, y), rtol=1e-11)


def test_chunk_streams_are_the_spawned_children():
    root = np.random.SeedSequence(42)
    kids = np.random.SeedSequence(42).spawn(5)
    for i, kid in enumerate(kids):
        a = np.random.default_rng(X.chunk_stream(root, i)).integers(2 ** 62, size=4)
        assert np.array_equal(a, np.random.default_rng(kid).integers(2 ** 62, size=4))


def test_chunk_sizes_cover_n():
    assert X.chunk_sizes(25, 10) == [10, 10, 5]
    assert sum(len(t.sizes) for t in X.plan(N, 10_000, 3)) == 101
    assert sum(t.samples for t in X.plan(N, 10_000, 1)) == N


# ---- the same bits everywhere ---------------------------------------------------------------
def test_identical_for_1_2_3_threads_and_1_2_3_processes():
    ref = X.Executor(X.InProcess(1)).run(JOB, N, 7)
    assert ref.n == N
    for threads in (2, 3):
        assert _bits(X.Executor(X.InProcess(threads)).run(JOB, N, 7)) == _bits(ref)
    for workers in (1, 2, 3):
        with X.Executor(X.Processes(workers)) as ex:
            assert _bits(ex.run(JOB, N, 7)) == _bits(ref), f"{workers} processes"
    assert _bits(X.Executor(X.InProcess(1)).run(JOB, N, 8)) != _bits(ref)


def test_finishing_order_does_not_matter():
    """Tasks delivered in reverse order fold to the same bits."""
    ref = X.Executor(X.InProcess(1)).run(JOB, N, 3)

    class Reversed(X.InProcess):
        def execute(self, job, root, tasks, done):
            for t in reversed(tasks):
                done(t.index, X.run_chunks(*X._task_args(job, root, t)))

    assert _bits(X.Executor(Reversed(1)).run(JOB, N, 3)) == _bits(ref)


def test_sampler_power_sums_do_not_depend_on_workers():
    a = dropout_relu_power_sums(3 << 20, 5, 0.3, threads=1)
    assert dropout_relu_power_sums(3 << 20, 5, 0.3, threads=2) == a
    with X.use(X.Executor(X.Processes(2))) as ex:
        b = dropout_relu_power_sums(3 << 20, 5, 0.3)
        ex.close()
    assert b == a and isinstance(b, PowerSums) and b.n == 3 << 20


def test_an_unpicklable_job_runs_in_process_with_the_same_result():
    fill = functools.partial(_fill_ones)
    ref = power_sums(fill, 200_000, 1, threads=1)
    with X.Executor(X.Processes(2)) as ex, X.use(ex):
        assert power_sums(lambda rng, buf: _fill_ones(rng, buf), 200_000, 1) == ref
    assert ref.n == 200_000 and ref.s1 == 200_000


def _fill_ones(rng, buf):
    buf.x[:] = 1.0
    return buf.x


# ---- lost workers ---------------------------------------------------------------------------
def test_a_killed_worker_is_retried_with_the_same_result(tmp_path):
    ref = X.Executor(X.InProcess(1)).run(JOB, N, 11)
    job = X.Job(dying_chunk, (str(tmp_path), 37), chunk=10_000)
    with X.Executor(X.Processes(2)) as ex:
        got = ex.run(job, N, 11)
    assert (tmp_path / "died-37").exists()  # the worker did die
    assert _bits(got) == _bits(ref)


def test_a_worker_that_always_dies_is_reported_not_dropped():
    job = X.Job(always_dying_chunk, (5,), chunk=10_000)
    with X.Executor(X.Processes(2)) as ex, pytest.raises(X.WorkerLost, match="lost"):
        ex.run(job, N, 11)


def test_a_missing_chunk_is_an_error():
    tasks = X.plan(100, 10, 1)
    fold = X._Fold(tasks)
    with pytest.raises(X.WorkerLost):
        fold.result(100)


# ---- Dask ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_bits():
    pytest.importorskip("distributed", reason="dask[distributed] not installed "
                                              '(pip install ".[dask]")')
    ref = X.Executor(X.InProcess(1)).run(JOB, N, 7)
    with X.Executor(X.Dask(workers=2)) as ex:
        assert _bits(ex.run(JOB, N, 7)) == _bits(ref)
        assert ex.backend.workers == 2


@pytest.mark.slow
def test_dask_reruns_the_task_of_a_killed_worker(tmp_path):
    pytest.importorskip("distributed", reason="dask[distributed] not installed "
                                              '(pip install ".[dask]")')
    ref = X.Executor(X.InProcess(1)).run(JOB, N, 11)
    job = X.Job(dying_chunk, (str(tmp_path), 37), chunk=10_000)
    with X.Executor(X.Dask(workers=2)) as ex:
        got = ex.run(job, N, 11)
    assert (tmp_path / "died-37").exists()
    assert _bits(got) == _bits(ref)


def test_without_dask_the_flags_say_how_to_install(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_distributed(name, *args, **kw):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("no distributed")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(X.ExecutorUnavailable, match=r"pip install"):
        X.make(2, dask=True)


# ---- progress --------------------------------------------------------------------------------
def test_progress_line_and_when_it_is_shown():
    text = progress.line("E[f]", 2_000_000_000, 20_000_000_000, 20.0)
    assert "2.00 G" in text and "20.00 G" in text and "100.00 M samples/s" in text
    assert "3 min 00 s left" in text
    buf = io.StringIO()
    assert progress.for_terminal(stream=buf) is None  # not a terminal

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert progress.for_terminal(stream=Tty(), json_output=True) is None
    p = progress.for_terminal(stream=Tty())
    assert p is not None
    p.after = 0.0
    p.update("x", 5, 10, 2.0)
    p.finish()
    assert "samples/s" in p.stream.getvalue()
