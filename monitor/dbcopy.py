"""`monitor db copy --from A --to B`: move an installation to another database, e.g. from its
SQLite file to PostgreSQL before running several daemons.

Streamed (one batch of rows in memory at a time), resumable (stop it any time, run the same
command again and it goes on after the last committed batch), and checked: at the end every
table holds as many rows in B as in A, and B's per-minute aggregates, rebuilt by its own
triggers, count the same negative mentions as A's. Stop every daemon on A first: rows written
to A during the copy are not guaranteed to arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.store import Store
from monitor.store.transfer import COPIED_TABLES, CopiedTable

BATCH = 5_000


class CopyError(RuntimeError):
    """The copy cannot start or did not check out; the message says which table and what to do."""


@dataclass(slots=True)
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)
    resumed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        total = sum(self.copied.values())
        before = sum(self.resumed.values())
        lines = [
            f"{total} rows in the destination, {total - before} copied now in {self.seconds:.1f}s"
            + (f" ({before} by an earlier run)" if before else "")
            + "; counts match in every table"
        ]
        for name, n in self.copied.items():
            again = self.resumed.get(name, 0)
            note = " (all by an earlier run)" if again == n and n else ""
            note = note or (f" (resumed after {again})" if again else "")
            lines.append(f"  {name}: {n}{note}")
        return "\n".join(lines)


Progress = Callable[[str, int, int], None]


def copy_database(
    source: Store,
    destination: Store,
    source_name: str,
    *,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every table of `source` into `destination`; raises CopyError if the result differs."""
    if source.schema_version != destination.schema_version:
        raise CopyError(
            f"the source is at schema version {source.schema_version} and the destination at "
            f"{destination.schema_version}; open both with the same monitor version first"
        )
    if not destination.begin_copy(source_name) and any(
        destination.row_count(t) for t in COPIED_TABLES
    ):
        raise CopyError(
            "the destination already holds data that did not come from this source; copy into "
            "an empty database (create a new one), or resume with the same --from as before"
        )
    began = time.perf_counter()
    report = CopyReport()
    for table in COPIED_TABLES:
        report.copied[table.name] = _copy_table(
            source, destination, source_name, table, batch, report, progress
        )
    _check(source, destination)
    report.seconds = time.perf_counter() - began
    return report


def _copy_table(
    source: Store,
    destination: Store,
    source_name: str,
    table: CopiedTable,
    batch: int,
    report: CopyReport,
    progress: Progress | None,
) -> int:
    state = destination.copy_progress(source_name, table)
    if state.copied:
        report.resumed[table.name] = state.copied
    if state.done:
        return state.copied
    total = source.row_count(table)
    after, copied = state.last_key, state.copied
    while True:
        columns, rows = source.read_batch(table, after, batch)
        done = len(rows) < batch
        copied += len(rows)
        destination.write_batch(source_name, table, columns, rows, copied, done)
        if progress is not None:
            progress(table.name, copied, total)
        if done:
            return copied
        after = tuple(rows[-1][columns.index(k)] for k in table.key)


def _check(source: Store, destination: Store) -> None:
    wrong = [
        f"{t.name}: {a} in the source, {b} in the destination"
        for t in COPIED_TABLES
        if (a := source.row_count(t)) != (b := destination.row_count(t))
    ]
    theirs, ours = source.aggregate_totals(), destination.aggregate_totals()
    if theirs != ours:
        wrong.append(
            f"negative_minutes: the destination's aggregates {ours} differ from the source's "
            f"{theirs}"
        )
    if wrong:
        raise CopyError(
            "the copy does not match the source: "
            + "; ".join(wrong)
            + ". Was a daemon still writing to the source? Stop it and run the copy again"
        )
