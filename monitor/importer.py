"""`monitor import FILE`: load historical mentions from .jsonl or .csv into the store.

Streams the file (memory stays flat however large it is) in jobs of a few thousand rows. A job
is parsed, validated, matched to its topics and scored by one worker (`import_worker`), and
this process only reads the file and stores what comes back, with INSERT OR IGNORE on the
mention key, so importing the same file again stores nothing new (and scores nothing again:
a worker skips the rows stored already). Whether the workers are a process pool or this
process is measured, not guessed: the first jobs run here, the next ones in the pool, and the
pool keeps the rest only if it was faster (on a loaded machine it can be slower). The
per-minute aggregates follow through the store's triggers, so detection and backtest see
imported history at once; a large load into a smaller database goes in without the mention
indexes and those triggers, and builds them and counts the aggregates after it
(`Store.bulk_load`). A row that cannot be used is reported with its line number and skipped;
the rest still goes in.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from monitor import import_worker
from monitor.config import Config
from monitor.database_setting import PostgresDatabase
from monitor.import_worker import Done, Job, Setup, Worker, start_pool_worker, work_in_pool
from monitor.lock import lock_held
from monitor.sentiment.pool import ScorerSpec, forks_here, ordered, start_pool, warm_up
from monitor.store import Store

BATCH = 2_000  # rows per job: small enough that a job and its results cross processes cheaply
SHOWN_ERRORS = 20  # bad rows listed in the summary; the rest are counted
TRIAL_JOBS = 3  # pool jobs timed (x 2, + 1) before choosing between the pool and this process
# A pool starts only for a file larger than this, about 2 s of work for one process (scoring
# costs by the byte of text): starting one costs ~0.5 s (processes, VADER's lexicon, the
# complaint patterns).
POOL_WORTH_BYTES = 4_000_000
# Below this many rows a bulk load (indexes and aggregates built after it) gains too little.
BULK_LOAD_ROWS = 20_000
_REQUIRED = ("native_id", "created_at", "text")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unknown format, unreadable)."""


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    stored: int = 0
    bad: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1  # processes that scored most of the rows
    known: int = 0  # rows found stored before scoring (a re-run), neither scored nor written

    @property
    def duplicates(self) -> int:
        return self.rows - self.bad - self.stored

    def summary(self) -> str:
        lines = [
            f"read {self.rows} rows: stored {self.stored} new, {self.duplicates} already "
            f"stored{f' ({self.known} skipped unscored)' if self.known else ''}, {self.bad} bad "
            f"({self.seconds:.1f}s, "
            f"{self.rows / max(self.seconds, 1e-9):.0f} rows/s, "
            f"{'one process' if self.workers == 1 else f'{self.workers} worker processes'})"
        ]
        lines += [f"  line {line}: {reason}" for line, reason in self.errors]
        if self.bad > len(self.errors):
            lines.append(f"  ... and {self.bad - len(self.errors)} more bad rows")
        return "\n".join(lines)


def _jobs(path: Path, raw_file: IO[bytes], batch: int) -> Iterator[Job]:
    """The file (.jsonl, .ndjson or .csv) cut into jobs of ``batch`` rows, read lazily."""
    handle = io.TextIOWrapper(raw_file, encoding="utf-8", errors="replace", newline="")
    suffix = path.suffix.lower()
    chunk: list[tuple[int, Any]] = []
    if suffix != ".csv":
        lines = ((n, line) for n, line in enumerate(handle, 1) if not line.isspace())
        while chunk := list(itertools.islice(lines, batch)):
            yield Job(chunk, None, raw_file.tell())
        return
    reader = csv.reader(handle)
    header = tuple(next(reader, ()))
    missing = set(_REQUIRED) - set(header)
    if missing:
        raise ImportFileError(f"{path}: the CSV header lacks {', '.join(sorted(missing))}")
    try:
        for row in reader:
            if row:  # a blank line, as csv.DictReader skips it
                chunk.append((reader.line_num, row))
                if len(chunk) >= batch:
                    yield Job(chunk, header, raw_file.tell())
                    chunk = []
    except csv.Error as exc:
        yield Job(chunk, header, raw_file.tell(), (reader.line_num, f"CSV error ({exc})"))
        return
    yield Job(chunk, header, raw_file.tell())


def import_file(
    config: Config,
    store: Store,
    path: Path,
    *,
    brand: str | None = None,
    channel: str | None = None,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    pool: bool | None = None,
    bulk_load: bool | None = None,
) -> ImportReport:
    """Import every good row of `path`; `progress(bytes read, file size)` after each job.

    ``pool``: None chooses between a pool of ``workers`` processes (default: one per core)
    and this process by their measured rate; True or False forces one. ``bulk_load``:
    None decides from the first job (`worth_bulk_loading`); True or False forces it.
    """
    began = time.perf_counter()
    names = [b.name for b in config.brands]
    if brand is not None and brand not in names:
        raise ImportFileError(f"--brand {brand!r} is not configured ({', '.join(names)})")
    setup = Setup(
        tuple(
            (
                b,
                ScorerSpec.of(
                    b.lexicon,
                    b.complaint_phrases,
                    b.negative_below,
                    b.positive_above,
                    config.sentiment.complaints,
                ),
            )
            for b in config.brands
        ),
        brand,
        channel or "import",
        store.keys_file(),
    )
    if path.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise ImportFileError(f"{path}: use a .jsonl or .csv file")
    workers = workers or os.cpu_count() or 1
    report = ImportReport()
    size = path.stat().st_size

    def keep(done: Done) -> None:
        if not report.rows and (
            bulk_load
            if bulk_load is not None
            else worth_bulk_loading(
                store,
                done.rows * size / max(done.end, 1),
                config.database,
                1 - done.known / max(done.rows, 1),
            )
        ):
            stack.enter_context(store.bulk_load())
        report.rows += done.rows
        report.known += done.known
        report.bad += len(done.errors)
        report.errors += done.errors[: SHOWN_ERRORS - len(report.errors)]
        if done.inserts:
            report.stored += store.import_rows(done.inserts)
        if progress is not None:
            progress(done.end, size)

    stack = ExitStack()
    with path.open("rb") as raw_file, stack:
        jobs = _Gate(_jobs(path, raw_file, batch))
        local = Worker(setup)
        stack.callback(local.close)
        if pool or (pool is None and workers > 1 and size > POOL_WORTH_BYTES):
            forked = forks_here()
            executor = stack.enter_context(
                start_pool(workers, start_pool_worker, (setup,), import_worker.__name__)
            )
            # This process scores the first job to time itself against the pool. Forked
            # workers are up already and start on the next jobs meanwhile; a fork server's
            # take ~0.5 s to start, and this process goes on with the file until they are up.
            trial = list(itertools.islice(jobs, 1))
            if forked:
                pooled = ordered(executor, work_in_pool, jobs, 2 * workers)
                local_rate = _timed(map(local.work, trial), keep, cpu=True)
            else:
                warming = warm_up(executor, workers)
                more = _while(warming.is_alive, jobs)
                local_rate = _timed(map(local.work, itertools.chain(trial, more)), keep, cpu=True)
                warming.join()
                pooled = ordered(executor, work_in_pool, jobs, 2 * workers)
            pool_rate = _timed(itertools.islice(pooled, 2 * TRIAL_JOBS + 1), keep)
            if pool or (pool_rate is not None and pool_rate > (local_rate or 0.0)):
                report.workers = workers
            else:
                jobs.close()  # the jobs already out finish in the pool, the rest come here
            for done in pooled:
                keep(done)
            jobs.reopen()
        for done in map(local.work, jobs):
            keep(done)
    report.seconds = time.perf_counter() - began
    return report


def worth_bulk_loading(
    store: Store, rows: float, database: Path | PostgresDatabase, new: float = 1.0
) -> bool:
    """Whether to load ``rows`` (the file's, estimated from its first job, of which the share
    ``new`` was not stored yet) as a bulk load (`Store.bulk_load`): for many rows, into a
    database holding no more mentions than that (each index is rebuilt and each aggregate
    counted over every row), while no daemon reads the database. Not for a re-run whose first
    rows are stored already (an interrupted import): it brings too few new ones."""
    return (
        rows >= BULK_LOAD_ROWS
        and new > 0.5
        and store.mention_rows_estimate() <= rows
        and not lock_held(database)
    )


def _while(going: Callable[[], bool], jobs: Iterator[Job]) -> Iterator[Job]:
    """The next jobs, for as long as ``going()`` says."""
    while going() and (job := next(jobs, None)) is not None:
        yield job


class _Gate(Iterator[Job]):
    """The file's jobs, with a gate: closed, it ends the pool's stream without ending the file."""

    def __init__(self, jobs: Iterator[Job]) -> None:
        self._jobs = jobs
        self._open = True

    def __next__(self) -> Job:
        if not self._open:
            raise StopIteration
        return next(self._jobs)

    def close(self) -> None:
        self._open = False

    def reopen(self) -> None:
        self._open = True


def _timed(
    results: Iterator[Done], keep: Callable[[Done], None], cpu: bool = False
) -> float | None:
    """Rows per second while storing ``results``, from the first result on (a pool's start-up
    is paid once, not per row); None when there were too few results to tell. With ``cpu``,
    per second of this thread's CPU time from now, all results counted: what this process
    does on a core of its own, however many processes share the cores meanwhile."""
    clock = time.thread_time if cpu else time.perf_counter
    began = clock() if cpu else None
    rows = 0
    for done in results:
        keep(done)
        if began is None:
            began = clock()
        else:
            rows += done.rows
    if began is None or not rows:
        return None
    return rows / max(clock() - began, 1e-9)


def terminal_progress(stream: IO[str]) -> Callable[[int, int], None]:
    """A one-line progress bar, redrawn in place; for a terminal only."""
    began = time.perf_counter()

    def show(done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        rate = done / max(time.perf_counter() - began, 1e-9) / 1e6
        stream.write(f"\r[{bar:<30}] {share:6.1%} {rate:.1f} MB/s")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return show
