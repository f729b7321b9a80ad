"""The sampling executor: a Monte Carlo run cut into chunks, run anywhere, merged in order.

A run of n samples from ``seed`` is cut into chunks of ``job.chunk`` samples. Chunk i
draws from its own stream, child i of ``SeedSequence(seed)`` (exactly what
``SeedSequence(seed).spawn(k)[i]`` gives), and returns a small mergeable summary (a
:class:`Moments`: count, means and co-moments M2, or ``sampler.PowerSums``). The summaries
are folded **in chunk order**, r₀ + r₁ + …, whoever computed them and whenever they
finished, so the result is bit-for-bit the same for every backend and every number of
workers (each chunk is the same float computation on the same stream; only the place it
runs changes).

Backends (:func:`make`):

``in-process``  threads of this process (default; ``sampler.DEFAULT_THREADS``), as before.
``processes``   N local worker processes (``nnmath verify --workers N``).
``dask``        a Dask distributed cluster: an existing scheduler
                (``--scheduler tcp://HOST:PORT``) or a ``LocalCluster`` of N single-threaded
                worker processes (``--workers N --dask``). Optional: ``pip install
                ".[dask]"``.

Chunks travel in tasks of several chunks (fewer round trips); the grouping depends on the
worker count but the result does not (chunk summaries are folded one by one). A job's
function must be importable (a module-level function, or a ``functools.partial`` of one)
to run in other processes; other jobs run in-process, with the same result.

Lost workers: a task whose worker dies is run again (the chunk streams make the retry
give the same numbers); after ``RETRIES`` failed attempts the run raises
:class:`WorkerLost` naming the chunks. A chunk is never silently left out of an estimate:
the fold checks that every chunk is present and that the counts add up to n.

Merging two summaries (Chan, Golub and LeVeque 1979): with n = n_a + n_b and
δ = x̄_b − x̄_a, x̄ = x̄_a + δ·n_b/n and M2 = M2_a + M2_b + δδᵀ·n_a·n_b/n.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

CHUNK = 1 << 20  # samples per chunk (a job may choose another size)
RETRIES = 2  # extra attempts for a task whose worker died
INSTALL_DASK = 'pip install "nnmath[dask]" (or, in a checkout, pip install ".[dask]")'


class WorkerLost(RuntimeError):
    """A task could not be completed: its worker died on every attempt. The run stops; no
    estimate is made from the chunks that did complete."""


class ExecutorUnavailable(RuntimeError):
    """The requested backend cannot be used here (Dask not installed, no scheduler at the
    address); the message says what to do."""


# ---- summaries -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Moments:
    """count, mean vector and co-moment matrix M2 = Σ(x − x̄)(x − x̄)ᵀ of k columns, in
    float64; ``a + b`` merges in that order (module docstring)."""

    n: int
    mean: tuple[float, ...]
    m2: tuple[tuple[float, ...], ...]

    @classmethod
    def of(cls, *columns: Any) -> Moments:
        """The summary of one chunk: columns are equally long arrays (float32 or 64).
        Two passes in float64 (mean, then centred products), pairwise sums, no BLAS."""
        import numpy as np
        cols = [np.asarray(c).ravel() for c in columns]
        m = cols[0].size
        means = [float(np.add.reduce(c, dtype=np.float64)) / m for c in cols]
        centred = [c.astype(np.float64) - mu for c, mu in zip(cols, means)]
        k = len(cols)
        m2 = [[0.0] * k for _ in range(k)]
        for i in range(k):
            for j in range(i, k):
                m2[i][j] = m2[j][i] = float(np.add.reduce(centred[i] * centred[j]))
        return cls(m, tuple(means), tuple(tuple(r) for r in m2))

    def __add__(self, other: Moments) -> Moments:
        if self.n == 0:
            return other
        if other.n == 0:
            return self
        n = self.n + other.n
        k = len(self.mean)
        if k == 1:  # the same arithmetic as below, without the loops (the client's hot path)
            d = other.mean[0] - self.mean[0]
            return Moments(n, (self.mean[0] + d * other.n / n,),
                           ((self.m2[0][0] + other.m2[0][0] + d * d * (self.n * other.n / n),),))
        delta = [other.mean[i] - self.mean[i] for i in range(k)]
        mean = tuple(self.mean[i] + delta[i] * other.n / n for i in range(k))
        w = self.n * other.n / n
        m2 = tuple(tuple(self.m2[i][j] + other.m2[i][j] + delta[i] * delta[j] * w
                         for j in range(k)) for i in range(k))
        return Moments(n, mean, m2)

    def var(self, i: int = 0) -> float:
        """Sample variance of column i (divisor n − 1)."""
        return self.m2[i][i] / (self.n - 1)

    def cov(self, i: int, j: int) -> float:
        return self.m2[i][j] / (self.n - 1)

    def sd(self, i: int = 0) -> float:
        return math.sqrt(max(self.var(i), 0.0))

    def se(self, i: int = 0) -> float:
        """Standard error of the mean of column i: sd/√n."""
        return self.sd(i) / math.sqrt(self.n)


# ---- jobs and chunks ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Job:
    """``fn(stream: SeedSequence, m: int, *args) -> summary`` computes one chunk of m
    samples from its own stream; summaries support ``+``. ``chunk``: samples per chunk.
    ``label`` names the run in progress lines."""

    fn: Callable[..., Any]
    args: tuple = ()
    chunk: int = CHUNK
    label: str = ""


def root_sequence(seed: Any):
    import numpy as np
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def chunk_stream(root: Any, i: int):
    """Child i of ``root``: the same as a fresh ``root.spawn(i + 1)[i]``, computed without
    spawning the i children before it."""
    import numpy as np
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (i,),
                                  pool_size=root.pool_size)


def chunk_sizes(n: int, chunk: int) -> list[int]:
    full, rest = divmod(int(n), int(chunk))
    return [int(chunk)] * full + ([rest] if rest else [])


def run_chunks(fn: Callable[..., Any], args: tuple, entropy: Any, spawn_key: tuple,
               pool_size: int, first: int, sizes: Sequence[int]) -> list:
    """One task: the summaries of chunks first, first + 1, … (module-level so that worker
    processes and Dask can import it)."""
    import numpy as np
    root = np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size)
    return [fn(chunk_stream(root, first + j), m, *args) for j, m in enumerate(sizes)]


@dataclasses.dataclass(frozen=True)
class Task:
    index: int
    first: int  # first chunk
    sizes: tuple[int, ...]

    @property
    def samples(self) -> int:
        return sum(self.sizes)


def plan(n: int, chunk: int, workers: int) -> list[Task]:
    """Tasks of consecutive chunks: about 8 per worker, at most 64 chunks each."""
    sizes = chunk_sizes(n, chunk)
    per = max(1, min(64, math.ceil(len(sizes) / (8 * max(1, workers)))))
    return [Task(t, i, tuple(sizes[i:i + per]))
            for t, i in enumerate(range(0, len(sizes), per))]


class _Fold:
    """Folds task results in chunk order as they arrive (keeps only those not yet
    foldable), and checks at the end that nothing is missing."""

    def __init__(self, tasks: list[Task]):
        self.tasks = tasks
        self.pending: dict[int, list] = {}
        self.next = 0
        self.total: Any = None
        self.chunks = 0

    def add(self, index: int, results: list) -> None:
        if len(results) != len(self.tasks[index].sizes):
            raise WorkerLost(f"task {index} returned {len(results)} chunk results for "
                             f"{len(self.tasks[index].sizes)} chunks")
        self.pending[index] = results
        while self.next in self.pending:
            for r in self.pending.pop(self.next):
                self.total = r if self.total is None else self.total + r
                self.chunks += 1
            self.next += 1

    def result(self, n: int) -> Any:
        expected = sum(len(t.sizes) for t in self.tasks)
        if self.next != len(self.tasks) or self.chunks != expected:
            raise WorkerLost(f"only {self.chunks} of {expected} chunks were merged")
        got = getattr(self.total, "n", n)
        if got != n:
            raise WorkerLost(f"the merged summary counts {got} samples, expected {n}")
        return self.total


# ---- backends ------------------------------------------------------------------------------
class Backend:
    name = "backend"
    workers = 1

    def execute(self, job: Job, root: Any, tasks: list[Task],
                done: Callable[[int, list], None]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return f"{self.name}, {self.workers} worker{'s' if self.workers != 1 else ''}"


def _task_args(job: Job, root: Any, t: Task) -> tuple:
    return (job.fn, job.args, root.entropy, tuple(root.spawn_key), root.pool_size, t.first,
            t.sizes)


class InProcess(Backend):
    """Threads of this process (NumPy releases the GIL on array work)."""

    name = "in-process"

    def __init__(self, threads: int | None = None):
        from .sampler import DEFAULT_THREADS
        self.workers = int(threads or DEFAULT_THREADS)

    def execute(self, job, root, tasks, done):
        lock = threading.Lock()
        queue = list(reversed(tasks))
        errors: list[BaseException] = []

        def work() -> None:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    t = queue.pop()
                try:
                    out = run_chunks(*_task_args(job, root, t))
                except BaseException as exc:
                    with lock:
                        errors.append(exc)
                    return
                with lock:
                    done(t.index, out)

        threads = min(self.workers, len(tasks))
        if threads <= 1:
            work()
        else:
            pool = [threading.Thread(target=work) for _ in range(threads)]
            for th in pool:
                th.start()
            for th in pool:
                th.join()
        if errors:
            raise errors[0]


def _picklable(job: Job) -> bool:
    try:
        pickle.dumps((job.fn, job.args))
    except Exception:
        return False
    return True


class Processes(Backend):
    """N local worker processes (``concurrent.futures``, forkserver start). A pool broken
    by a dead worker is rebuilt and the unfinished tasks run again (up to RETRIES)."""

    name = "processes"

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError(f"workers must be ≥ 1, got {workers}")
        self.workers = int(workers)
        self._pool: Any = None

    def _new_pool(self):
        import concurrent.futures as cf
        import multiprocessing as mp
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        return cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context(method),
                                      initializer=_one_blas_thread)

    def execute(self, job, root, tasks, done):
        import concurrent.futures as cf
        from concurrent.futures.process import BrokenProcessPool
        if not _picklable(job):  # a closure: same result in-process (stated in the docstring)
            InProcess().execute(job, root, tasks, done)
            return
        left = {t.index: t for t in tasks}
        for _attempt in range(RETRIES + 1):
            if self._pool is None:
                self._pool = self._new_pool()
            futures = {self._pool.submit(run_chunks, *_task_args(job, root, t)): t.index
                       for t in left.values()}
            broken = False
            for fut in cf.as_completed(futures):
                try:
                    out = fut.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                done(futures[fut], out)
                del left[futures[fut]]
            if not broken:
                return
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            if not left:
                return
        raise WorkerLost(f"{len(left)} task(s) (chunks starting at "
                         f"{sorted(tasks[i].first for i in left)[:5]}) lost their worker "
                         f"{RETRIES + 1} times; no estimate was made")

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _one_blas_thread() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ExecutorUnavailable("the Dask backend needs dask.distributed, which is not "
                                  f"installed: {INSTALL_DASK}") from None
    return distributed


class Dask(Backend):
    """A Dask distributed client: ``address`` of a running scheduler, or a LocalCluster of
    ``workers`` single-threaded processes. Dask reruns tasks of dead workers itself (up to
    its ``allowed-failures``); a task that still fails raises :class:`WorkerLost`."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None):
        distributed = _import_distributed()
        self.cluster = None
        try:
            if address:
                self.client = distributed.Client(address, timeout="10s")
            else:
                self.cluster = distributed.LocalCluster(
                    n_workers=int(workers or 2), threads_per_worker=1, processes=True,
                    dashboard_address=":0")
                self.client = distributed.Client(self.cluster)
        except OSError as exc:
            raise ExecutorUnavailable(f"cannot reach a Dask scheduler at {address!r}: "
                                      f"{exc}") from None
        self.address = address or self.cluster.scheduler_address  # type: ignore[union-attr]
        self.workers = max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        return f"dask at {self.address}, {self.workers} workers"

    def execute(self, job, root, tasks, done):
        distributed = _import_distributed()
        futures = {}
        for t in tasks:
            fut = self.client.submit(run_chunks, *_task_args(job, root, t), pure=False,
                                     retries=RETRIES)
            futures[fut] = t.index
        for fut in distributed.as_completed(list(futures)):
            try:
                out = fut.result()
            except distributed.KilledWorker as exc:
                raise WorkerLost(f"task {futures[fut]} killed its Dask workers repeatedly "
                                 f"({exc}); no estimate was made") from None
            done(futures[fut], out)

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ---- the executor --------------------------------------------------------------------------
class Executor:
    """A backend plus an optional progress sink (``progress.Progress``)."""

    def __init__(self, backend: Backend | None = None, progress: Any = None):
        self.backend = backend or InProcess()
        self.progress = progress

    def run(self, job: Job, n: int, seed: Any) -> Any:
        """The fold, in chunk order, of ``job`` over n samples from ``seed``."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive whole number, got {n!r}")
        if job.chunk < 1:
            raise ValueError(f"chunk must be ≥ 1, got {job.chunk}")
        root = root_sequence(seed)
        tasks = plan(n, job.chunk, self.backend.workers)
        fold = _Fold(tasks)
        started = time.perf_counter()
        state = {"samples": 0}

        def done(index: int, results: list) -> None:
            fold.add(index, results)
            state["samples"] += tasks[index].samples
            if self.progress is not None:
                self.progress.update(job.label, state["samples"], n,
                                     time.perf_counter() - started)

        try:
            self.backend.execute(job, root, tasks, done)
        finally:
            if self.progress is not None:
                self.progress.finish()
        return fold.result(n)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_CURRENT: contextvars.ContextVar[Executor | None] = contextvars.ContextVar(
    "nnmath_executor", default=None)


def current() -> Executor:
    """The executor of this run (``use``), or a fresh in-process one."""
    ex = _CURRENT.get()
    return ex if ex is not None else Executor()


@contextlib.contextmanager
def use(executor: Executor) -> Iterator[Executor]:
    """Run the enclosed claims (and proofs.testing assertions) on ``executor``."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)


def make(workers: int | None = None, *, dask: bool = False, scheduler: str | None = None,
         progress: Any = None) -> Executor:
    """The executor the command line asks for: ``scheduler`` → Dask client of that
    scheduler; ``dask`` → a LocalCluster of ``workers`` (default 2); ``workers`` → local
    processes; nothing → in-process."""
    if scheduler:
        backend: Backend = Dask(address=scheduler)
    elif dask:
        backend = Dask(workers=workers or 2)
    elif workers:
        backend = Processes(workers)
    else:
        backend = InProcess()
    return Executor(backend, progress)


def run(job: Job, n: int, seed: Any) -> Any:
    """``current().run(job, n, seed)``."""
    return current().run(job, n, seed)
