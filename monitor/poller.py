"""One poll of one (brand, channel): fetch -> match -> score -> store, cursor in the same commit."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.channels import channel_module
from monitor.channels.base import Channel, ChannelError, HttpClient, redact_text
from monitor.cluster import Leases, tick_every
from monitor.config import BrandConfig, Config
from monitor.logs import kv
from monitor.matching import BrandMatcher
from monitor.metrics import Metrics, PollOutcome
from monitor.models import Clock, Mention, PollReport, Query, Score, Scored, utcnow
from monitor.sentiment.pool import POOL_THRESHOLD, ScorerSpec, score_texts
from monitor.store import Store

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)


def star_label(score: Score, rating: int | None) -> Score:
    """A 1-2 star review counts as negative whatever its words say; VADER's numbers are kept."""
    if rating is not None and rating <= 2 and score.label != "negative":
        return Score(score.compound, score.pos, score.neu, score.neg, "negative")
    return score


class BrandPipeline:
    """Matching and scoring for one brand."""

    def __init__(self, brand: BrandConfig, complaints: bool = True) -> None:
        self.brand = brand
        self.matcher = BrandMatcher(
            brand, exclude_authors=brand.exclude_authors, exclude_domains=brand.exclude_domains
        )
        self.spec = ScorerSpec.of(
            lexicon=brand.lexicon,
            complaint_phrases=brand.complaint_phrases,
            negative=brand.negative_below,
            positive=brand.positive_above,
            complaints=complaints,
        )
        self.scorer = self.spec.build()

    def score_texts(self, texts: Sequence[str]) -> list[Score]:
        """A backfill of thousands is scored on every core; a usual poll in this process."""
        if len(texts) >= POOL_THRESHOLD:
            return score_texts(self.spec, texts, threshold=POOL_THRESHOLD)
        return [self.scorer.score(text) for text in texts]

    def process(self, mentions: Sequence[Mention]) -> list[Scored]:
        return self.process_counted(mentions)[0]

    def process_counted(self, mentions: Sequence[Mention]) -> tuple[list[Scored], dict[str, int]]:
        """The brand's mentions scored, and how many were dropped for each reason."""
        matched, rejected = self.matcher.partition(mentions)
        # One batch call for the whole poll, so a backfill of thousands can go to every core.
        scores = self.score_texts([m.text for m in matched])
        scored = [
            Scored(m, self.brand.name, star_label(score, m.rating), self.matcher.topics_of(m.text))
            for m, score in zip(matched, scores, strict=True)
        ]
        return scored, rejected


class Poller:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Clock = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        on_new_negatives: Callable[[str], object] | None = None,
        metrics: Metrics | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.timer = timer
        # Called with the brand after a poll stored new mentions among which some are negative,
        # so detection need not wait for its own schedule.
        self.on_new_negatives = on_new_negatives
        self.pipelines = {
            b.name: BrandPipeline(b, config.sentiment.complaints) for b in config.brands
        }
        # One adapter (and HTTP client, with its own request budget) per (brand, channel), so
        # two brands polling the same channel at once never share a counter.
        self.adapters: dict[tuple[str, str], Channel] = {}
        for brand in config.brands:
            for name in brand.channels:
                settings = config.polls[brand.name, name]
                http = HttpClient(name, settings, sleep=sleep, clock=clock)
                self.adapters[brand.name, name] = channel_module(name).Adapter(settings, http)

    def jobs(self) -> list[tuple[str, str]]:
        return list(self.adapters)

    def backing_off(self, brand: str, channel: str, now: datetime) -> bool:
        """After consecutive failures a source is polled every 2, 4, 8... intervals (at most 1h).

        A source that is down is not hammered at every interval, and one that comes back is
        polled again within the hour.
        """
        failures, last = self.store.failures(brand, channel)
        if failures < 2 or last is None:
            return False
        every = self.config.polls[brand, channel].every
        wait = min(every * (1 << (failures - 1)), max(every, MAX_BACKOFF))
        return now < last + wait - every * 0.1  # the scheduler's jitter may fire a bit early

    def poll(self, brand: str, channel: str, *, force: bool = False) -> PollReport:
        """Poll once. Unless `force`, a source failing again and again is polled less often."""
        started = self.timer()
        adapter = self.adapters[brand, channel]
        pipeline = self.pipelines[brand]
        now = self.clock()
        if not force and self.backing_off(brand, channel, now):
            self._measure(brand, channel, "backing_off", started)
            log.info(kv("poll_backing_off", brand=brand, channel=channel))
            return PollReport(
                brand, channel, 0, 0, 0, 0, error="backing off after repeated failures"
            )
        try:
            cursor = self.store.get_cursor(brand, channel)
            fetched = matched = stored = skipped = muted = 0
            stored_by_label: Counter[str] = Counter()
            rejected: Counter[str] = Counter()
            negatives = False
            while True:
                # An adapter with more for this poll (a long backfill) hands it over in pieces;
                # each is saved with its cursor before the next is fetched.
                result = adapter.fetch(Query(brand, pipeline.brand.terms), cursor, now)
                scored, dropped = pipeline.process_counted(result.mentions)
                piece_muted = dropped.get("muted_author", 0) + dropped.get("muted_domain", 0)
                piece_stored, piece_by_label = self.store.save_poll_counted(
                    brand,
                    channel,
                    scored,
                    result.cursor,
                    result.skipped,
                    now,
                    warning="; ".join(result.warnings) or None,
                    muted=piece_muted,
                )
                stored += piece_stored
                stored_by_label.update(piece_by_label)
                rejected.update(dropped)
                fetched += len(result.mentions)
                matched += len(scored)
                skipped += result.skipped
                muted += piece_muted
                negatives = negatives or any(s.score.label == "negative" for s in scored)
                if not result.more:
                    break
                cursor = result.cursor
        except ChannelError as exc:
            return self._failed(brand, channel, str(exc), now, started)
        except Exception as exc:  # a bug in one adapter must not stop the daemon
            problem = redact_text(f"{channel}: unexpected {type(exc).__name__}: {exc}")
            # The traceback may quote a URL with a key in it: only at DEBUG, for developers.
            log.error(kv("poll_crashed", brand=brand, channel=channel, error=problem))
            log.debug("poll_crashed traceback", exc_info=True)
            return self._failed(brand, channel, problem, now, started)
        # Counted before the log line, so whoever reads the log sees the metrics updated.
        self._measure(brand, channel, "ok", started, dict(stored_by_label), dict(rejected))
        log.info(
            kv(
                "poll_ok",
                brand=brand,
                channel=channel,
                fetched=fetched,
                matched=matched,
                stored=stored,
                skipped=skipped,
                muted=muted,
                requests=result.requests,
            )
        )
        if stored and negatives and self.on_new_negatives:
            self.on_new_negatives(brand)
        return PollReport(brand, channel, fetched, matched, stored, skipped)

    def _measure(
        self,
        brand: str,
        channel: str,
        outcome: PollOutcome,
        started: float,
        stored_by_label: dict[str, int] | None = None,
        rejected: dict[str, int] | None = None,
    ) -> None:
        if self.metrics is not None:
            seconds = self.timer() - started
            self.metrics.poll_finished(brand, channel, outcome, seconds, stored_by_label, rejected)

    def _failed(
        self, brand: str, channel: str, error: str, now: datetime, started: float
    ) -> PollReport:
        self._measure(brand, channel, "failed", started)
        log.warning(kv("poll_failed", brand=brand, channel=channel, error=error))
        self.store.record_poll_error(brand, channel, error, now)
        return PollReport(brand, channel, 0, 0, 0, 0, error=error)

    def poll_all(self) -> list[PollReport]:
        return [self.poll(brand, channel, force=True) for brand, channel in self.jobs()]

    def close(self) -> None:
        for adapter in self.adapters.values():
            adapter.close()


@dataclass(frozen=True, slots=True)
class Busy:
    """A source `poll --once` left alone: a daemon (`holder`, if still known) was polling it."""

    brand: str
    channel: str
    holder: str | None


@dataclass(frozen=True, slots=True)
class PollRun:
    """`monitor poll --once`: a report per source polled, and the sources left alone because
    a daemon was polling them at that moment."""

    reports: list[PollReport]
    busy: list[Busy]


def poll_once(poller: Poller, *, holder: str | None = None) -> PollRun:
    """Poll every source once, whether due or not, each under its lease as a daemon polls it:
    a source a daemon is polling now is skipped, so the two never poll it side by side. The
    leases are renewed while the polls run and given back as each ends."""
    tick = tick_every(poller.config.alerting.detect_every)
    name = holder or f"{socket.gethostname()}:{os.getpid()}:poll"
    leases = Leases(poller.store, name, 3 * tick, poller.clock)
    reports: list[PollReport] = []
    busy: list[tuple[str, str]] = []
    with leases.renewed(tick):
        for brand, channel in poller.jobs():
            with leases.lease(brand, channel, None) as mine:
                if mine:
                    reports.append(poller.poll(brand, channel, force=True))
                else:
                    busy.append((brand, channel))
    holders = {}
    if busy:
        holders = {(x.brand, x.channel): x.holder for x in poller.store.leases(poller.clock())}
    return PollRun(reports, [Busy(b, c, holders.get((b, c))) for b, c in busy])
