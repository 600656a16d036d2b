"""`monitor import FILE`: load historical mentions from .jsonl or .csv into the store.

Streams the file (memory stays flat however large it is), scores each batch on every core
(`sentiment.pool.score_texts`), and stores with INSERT OR IGNORE on the mention key, so importing
the same file again stores nothing new. The per-minute aggregates follow through the store's
triggers, so detection and backtest see imported history at once. A row that cannot be used is
reported with its line number and skipped; the rest still goes in.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from monitor.config import Config
from monitor.matching import BrandMatcher
from monitor.models import Mention, Scored
from monitor.sentiment.pool import POOL_THRESHOLD, ScorerSpec, score_texts
from monitor.store import Store

BATCH = 50_000  # rows per scoring batch: large enough that the pool's start-up is amortised
SHOWN_ERRORS = 20  # bad rows listed in the summary; the rest are counted


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unknown format, unreadable)."""


@dataclass(slots=True)
class ImportReport:
    rows: int = 0
    stored: int = 0
    bad: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        return self.rows - self.bad - self.stored

    def summary(self) -> str:
        lines = [
            f"read {self.rows} rows: stored {self.stored} new, {self.duplicates} already "
            f"stored, {self.bad} bad ({self.seconds:.1f}s, "
            f"{self.rows / max(self.seconds, 1e-9):.0f} rows/s)"
        ]
        lines += [f"  line {line}: {reason}" for line, reason in self.errors]
        if self.bad > len(self.errors):
            lines.append(f"  ... and {self.bad - len(self.errors)} more bad rows")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class _Brand:
    spec: ScorerSpec
    matcher: BrandMatcher


def parse_time(value: Any) -> datetime:
    """ISO 8601 (UTC unless it says otherwise) or epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("created_at is not a finite number")
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"created_at {text[:40]!r} is neither ISO 8601 nor epoch seconds"
        ) from None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def parse_row(
    raw: dict[str, Any], brands: dict[str, _Brand], brand: str | None, channel: str
) -> tuple[str, Mention]:
    """(brand, mention) from one row, or ValueError saying what is wrong with it."""

    def text_of(name: str) -> str:
        value = raw.get(name)
        return "" if value is None else str(value)

    for name in ("native_id", "created_at", "text"):
        if not text_of(name).strip():
            raise ValueError(f"{name} is missing")
    which = text_of("brand") or brand
    if not which:
        raise ValueError("brand is missing (add a brand field or pass --brand)")
    if which not in brands:
        raise ValueError(f"brand {which[:40]!r} is not configured ({', '.join(brands)})")
    reach_text = text_of("reach").strip()
    try:
        reach = float(reach_text) if reach_text else None
    except ValueError:
        raise ValueError(f"reach {reach_text[:20]!r} is not a number") from None
    mention = Mention(
        channel=text_of("channel") or channel,
        native_id=text_of("native_id"),
        url=text_of("url"),
        author=text_of("author"),
        text=text_of("text"),
        created_at=parse_time(raw["created_at"]),
        author_reach=reach,
    )
    return which, mention


def read_rows(path: Path, handle: IO[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) for each row; a row that is not even a record comes as its error."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON ({exc.msg})"
                continue
            yield number, row if isinstance(row, dict) else "not a JSON object"
    elif suffix == ".csv":
        reader = csv.DictReader(handle)
        missing = {"native_id", "created_at", "text"} - set(reader.fieldnames or ())
        if missing:
            raise ImportFileError(f"{path}: the CSV header lacks {', '.join(sorted(missing))}")
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            yield reader.line_num, f"CSV error ({exc})"
    else:
        raise ImportFileError(f"{path}: use a .jsonl or .csv file")


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
    pool_threshold: int = POOL_THRESHOLD,
) -> ImportReport:
    """Import every good row of `path`; `progress(bytes read, file size)` after each batch."""
    began = time.perf_counter()
    brands = {
        b.name: _Brand(
            ScorerSpec.of(
                b.lexicon,
                b.complaint_phrases,
                b.negative_below,
                b.positive_above,
                config.sentiment.complaints,
            ),
            BrandMatcher(b),
        )
        for b in config.brands
    }
    if brand is not None and brand not in brands:
        raise ImportFileError(f"--brand {brand!r} is not configured ({', '.join(brands)})")
    report = ImportReport()
    size = path.stat().st_size
    pending: list[tuple[str, Mention]] = []
    with path.open("rb") as raw_file:
        handle = io.TextIOWrapper(raw_file, encoding="utf-8", errors="replace", newline="")
        for number, row in read_rows(path, handle):
            report.rows += 1
            try:
                if isinstance(row, str):
                    raise ValueError(row)
                pending.append(parse_row(row, brands, brand, channel or "import"))
            except ValueError as exc:
                report.bad += 1
                if len(report.errors) < SHOWN_ERRORS:
                    report.errors.append((number, str(exc)))
            if len(pending) >= batch:
                report.stored += _store_batch(store, brands, pending, workers, pool_threshold)
                pending = []
                if progress is not None:
                    progress(raw_file.tell(), size)
        report.stored += _store_batch(store, brands, pending, workers, pool_threshold)
        if progress is not None:
            progress(size, size)
    report.seconds = time.perf_counter() - began
    return report


def _store_batch(
    store: Store,
    brands: dict[str, _Brand],
    rows: list[tuple[str, Mention]],
    workers: int | None,
    threshold: int,
) -> int:
    scored: list[Scored] = []
    for name, pipeline in brands.items():
        mentions = [m for b, m in rows if b == name]
        if not mentions:
            continue
        scores = score_texts(pipeline.spec, [m.text for m in mentions], workers, threshold)
        scored += [
            Scored(m, name, s, pipeline.matcher.topics_of(m.text))
            for m, s in zip(mentions, scores, strict=True)
        ]
    return store.import_mentions(scored, datetime.now(UTC)) if scored else 0


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
