"""Scoring on every core: a process pool, one Scorer per worker, jobs streamed in order.

VADER is pure Python, so one process scores on one core. A backfill or a large poll hands
thousands of texts at once; those are cut into chunks and scored by one worker per core, each
holding a Scorer built once by the pool initializer from a small picklable ``ScorerSpec``.
Small batches stay in-process: a pool costs ~0.3 s to start (a process, VADER's lexicon, the
complaint patterns), more than scoring a few thousand short texts takes. ``start_pool`` and
``ordered`` serve a longer stream (``monitor import``): jobs go out a few at a time, so memory
stays flat however many there are, and results come back in the jobs' order.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from monitor.models import Score
from monitor.sentiment.scorer import Scorer

J = TypeVar("J")
R = TypeVar("R")

# Below this many texts a batch is scored in-process (see the module docstring).
POOL_THRESHOLD = 5000
_CHUNKS_PER_WORKER = 4  # a few chunks per worker even out texts of uneven length


@dataclass(frozen=True, slots=True)
class ScorerSpec:
    """Everything a Scorer is built from, as plain picklable values."""

    lexicon: tuple[tuple[str, float], ...] = ()
    complaint_phrases: tuple[tuple[str, float], ...] = ()
    negative: float = -0.05
    positive: float = 0.05
    complaints: bool = True

    @classmethod
    def of(
        cls,
        lexicon: Mapping[str, float] | None = None,
        complaint_phrases: Mapping[str, float] | None = None,
        negative: float = -0.05,
        positive: float = 0.05,
        complaints: bool = True,
    ) -> ScorerSpec:
        """The spec of ``Scorer(lexicon=..., ...)``, taking the same arguments."""
        return cls(
            lexicon=tuple(sorted((lexicon or {}).items())),
            complaint_phrases=tuple(sorted((complaint_phrases or {}).items())),
            negative=negative,
            positive=positive,
            complaints=complaints,
        )

    def build(self) -> Scorer:
        return Scorer(
            lexicon=dict(self.lexicon),
            complaint_phrases=dict(self.complaint_phrases),
            negative=self.negative,
            positive=self.positive,
            complaints=self.complaints,
        )


_worker: Scorer | None = None


def _start_worker(spec: ScorerSpec) -> None:
    global _worker
    _worker = spec.build()


def _score_chunk(texts: Sequence[str]) -> list[Score]:
    assert _worker is not None, "the pool initializer builds the worker's Scorer"
    return [_worker.score(text) for text in texts]


def score_texts(
    spec: ScorerSpec,
    texts: Sequence[str],
    workers: int | None = None,
    threshold: int = POOL_THRESHOLD,
) -> list[Score]:
    """Scores in the texts' order: in a pool of ``workers`` (default: one per core) when
    there are at least ``threshold`` texts and more than one worker, else in this process."""
    workers = workers or os.cpu_count() or 1
    if len(texts) < threshold or workers < 2:
        scorer = spec.build()
        return [scorer.score(text) for text in texts]
    size = -(-len(texts) // (workers * _CHUNKS_PER_WORKER))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    with start_pool(workers, _start_worker, (spec,), __name__) as pool:
        return [score for chunk in pool.map(_score_chunk, chunks) for score in chunk]


def start_pool(
    workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...], module: str
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, each set up once by ``initializer(*initargs)``.

    A process with no other thread forks its workers at once, here: they start with what it
    has built (the Scorer, its caches) and score within milliseconds. A threaded one (the
    daemon runs scheduler threads) must not fork, since a lock another thread holds would be
    copied held into the child: it uses a fork server, which imports ``module`` (the caller's)
    and builds the default Scorer once (``preload``), and each worker forks from it with that
    done, ~0.5 s later.
    """
    if forks_here():
        pool = ProcessPoolExecutor(
            workers, multiprocessing.get_context("fork"), initializer, initargs
        )
        # The first job forks every worker from this thread, before the pool starts its own.
        pool.submit(int).result()
        return pool
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([module, "monitor.sentiment.preload"])
    return ProcessPoolExecutor(workers, context, initializer, initargs)


def forks_here() -> bool:
    """Whether `start_pool` forks its workers from this process, so that they are up when it
    returns; else they come from a fork server (see `start_pool`)."""
    return threading.active_count() == 1


def warm_up(pool: ProcessPoolExecutor, workers: int) -> threading.Thread:
    """Start the pool's ``workers`` processes on a thread of their own, so the caller goes on
    working meanwhile (``submit`` blocks while the fork server and each process come up)."""
    thread = threading.Thread(
        target=lambda: [f.result() for f in [pool.submit(int) for _ in range(workers)]],
        name="pool-warm-up",
        daemon=True,
    )
    thread.start()
    return thread


def ordered(
    pool: ProcessPoolExecutor, work: Callable[[J], R], jobs: Iterator[J], in_flight: int
) -> Iterator[R]:
    """``work(job)`` for each job on the pool, in the jobs' order, at most ``in_flight``
    jobs out at once (``Executor.map`` would take the whole stream in first). The first
    ``in_flight`` go out at once, here: the workers start on them while the caller goes on."""
    pending: deque[Future[R]] = deque(
        pool.submit(work, job) for job in itertools.islice(jobs, in_flight)
    )
    return _drain(pool, work, jobs, pending)


def _drain(
    pool: ProcessPoolExecutor, work: Callable[[J], R], jobs: Iterator[J], pending: deque[Future[R]]
) -> Iterator[R]:
    for job in jobs:
        result = pending.popleft().result()
        pending.append(pool.submit(work, job))
        yield result
    while pending:
        yield pending.popleft().result()
