"""`monitor test-alert`: a sample alert sent straight through a team's receivers, bypassing
the outbox, so an operator sees at once whether each receiver is set up right."""

from __future__ import annotations

from datetime import timedelta

from monitor.config import Config
from monitor.models import Alert, AlertMention, Clock, utcnow
from monitor.notify import build_notifiers
from monitor.notify.base import DeliveryError
from monitor.store import Store


def send_test_alert(
    config: Config, store: Store, team: str, *, clock: Clock = utcnow
) -> list[tuple[str, str | None]]:
    """Send a sample alert straight through each of the team's receivers: [(receiver, error)]."""
    now = clock()
    brand = config.brands[0].name
    evidence = store.mentions(brand=brand, label="negative", order="most_negative", limit=5)
    sample = Alert(
        kind="test",
        incident_id=0,
        idempotency_key=f"test-{team}-{int(now.timestamp())}",
        brand=brand,
        scope_kind="brand",
        scope_value=brand,
        severity="warning",
        count=12,
        expected=1.5,
        ratio=8.0,
        window=config.brand(brand).spike.window,
        started_at=now - timedelta(minutes=20),
        peak_ratio=8.0,
        top_mentions=tuple(
            AlertMention(m.author, m.channel, m.text, m.url, m.compound, m.created_at)
            for m in evidence
        )
        or (
            AlertMention(
                "sample_author",
                "hackernews",
                f"This is a sample mention of {brand} for a test alert.",
                "https://news.ycombinator.com/",
                -0.6,
                now,
            ),
        ),
        top_topics=(),
    )
    results: list[tuple[str, str | None]] = []
    for notifier in build_notifiers(config.teams[team], config.email, name=team):
        try:
            notifier.send_alert(sample)
        except DeliveryError as exc:
            results.append((notifier.kind, str(exc)))
        else:
            results.append((notifier.kind, None))
    return results
