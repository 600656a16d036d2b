"""Which silence covers an incident: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.models import Incident
from monitor.silences import Silence, parse_scope, silencing

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


def incident(kind: str = "brand", value: str = "Acme", brand: str = "Acme") -> Incident:
    return Incident(
        id=1, brand=brand, scope_kind=kind, scope_value=value, status="open",  # type: ignore[arg-type]
        severity="warning", opened_at=NOW, updated_at=NOW, last_fired_at=NOW, resolved_at=None,
        last_notified_at=None, notifications=0, count=8, expected=1, ratio=8, peak_ratio=8,
        peak_count=8,
    )  # fmt: skip


def silence(
    scope: str | None = None, hours: float = 2, brand: str = "Acme", sid: int = 1
) -> Silence:
    kind, value = parse_scope(scope)
    return Silence(sid, brand, kind, value, NOW, NOW + timedelta(hours=hours), "", NOW)


def test_a_brand_silence_covers_every_scope_of_the_brand() -> None:
    assert silencing(incident("topic", "outage"), [silence()], NOW) is not None


def test_a_topic_silence_covers_only_that_topic() -> None:
    s = [silence("topic:outage")]
    assert silencing(incident("topic", "outage"), s, NOW) is not None
    assert silencing(incident("topic", "billing"), s, NOW) is None
    assert silencing(incident(), s, NOW) is None


def test_a_silence_of_another_brand_does_not_cover() -> None:
    assert silencing(incident(), [silence(brand="Other")], NOW) is None


def test_an_ended_silence_covers_nothing() -> None:
    assert silencing(incident(), [silence(hours=1)], NOW + timedelta(hours=1)) is None


def test_of_two_covering_silences_the_one_ending_last_is_named() -> None:
    found = silencing(incident(), [silence(hours=1, sid=1), silence(hours=5, sid=2)], NOW)
    assert found is not None and found.id == 2


@pytest.mark.parametrize("text", ["outage", "team:cx", "topic:", "channel: "])
def test_a_malformed_scope_says_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="write topic:NAME or channel:NAME"):
        parse_scope(text)
