"""The wording every notifier shares: titles per kind, facts, evidence, durations, clean text."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

from monitor.alert_view import (
    clean,
    format_duration,
    format_number,
    format_ratio,
    safe_url,
    view,
)
from tests.helpers import HOSTILE, alert_mention, make_alert, resolved_alert


def test_opened_alert_states_count_expected_and_ratio() -> None:
    v = view(make_alert())
    assert v.title == "Negative spike: Acme / topic outage"
    assert v.badge == "CRITICAL"
    assert v.summary == "42 negative mentions in the last 1 h, 12.0× the 3.5 expected."
    facts = dict(v.facts)
    assert facts["Brand"] == "Acme"
    assert facts["Scope"] == "topic outage"
    assert facts["Negative mentions"] == "42 in 1 h (expected 3.5)"
    assert facts["Ratio"] == "12.0× expected"
    assert facts["Started"] == "2024-06-21 10:00 UTC"
    assert facts["Top topics"] == "outage (12), billing (4)"


def test_evidence_is_the_five_most_negative_whatever_the_input_order() -> None:
    shuffled = tuple(reversed(make_alert().top_mentions))
    v = view(make_alert(top_mentions=shuffled))
    assert [e.author for e in v.evidence] == ["user6", "user5", "user4", "user3", "user2"]


def test_resolved_alert_says_how_long_it_lasted_and_the_peak() -> None:
    v = view(resolved_alert())
    assert v.badge == "RESOLVED"
    assert "lasted 2 h 15 min" in v.summary
    assert "peaked at 14.2× the expected rate" in v.summary
    facts = dict(v.facts)
    assert facts["Lasted"] == "2 h 15 min"
    assert facts["Peak ratio"] == "14.2× expected"
    assert facts["Resolved"] == "2024-06-21 12:15 UTC"


def test_test_alert_says_plainly_it_is_a_test() -> None:
    v = view(make_alert(kind="test"))
    assert v.is_test and v.badge == "TEST"
    assert v.title.startswith("TEST alert")
    assert "Nothing is wrong" in v.summary


def test_escalated_alert_says_severity_rose() -> None:
    v = view(make_alert(kind="escalated"))
    assert v.title.startswith("Escalated to critical")
    assert v.summary.startswith("Severity rose to critical.")


def test_reminder_says_the_incident_is_still_open() -> None:
    v = view(make_alert(kind="reminder"))
    assert v.title.startswith("Still open")
    assert "still open (since 2024-06-21 10:00 UTC)" in v.summary


def test_times_are_shown_in_the_team_timezone() -> None:
    v = view(make_alert(), ZoneInfo("Europe/London"))
    assert dict(v.facts)["Started"] == "2024-06-21 11:00 BST"


def test_whole_brand_scope_is_named_as_such() -> None:
    v = view(make_alert(scope_kind="brand", scope_value="Acme"))
    assert v.title == "Negative spike: Acme"
    assert dict(v.facts)["Scope"] == "whole brand"


def test_mention_text_is_cut_to_280_characters() -> None:
    v = view(make_alert(top_mentions=(alert_mention(text="word " * 400),)))
    assert len(v.evidence[0].text) == 280
    assert v.evidence[0].text.endswith("…")


def test_clean_removes_ansi_controls_bidi_and_line_breaks() -> None:
    cleaned = clean(HOSTILE.text, 1000)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in cleaned)
    assert "\u202e" not in cleaned
    # Whole escape sequences go, not just their first byte; the words and spaces stay.
    assert cleaned.endswith("& redlinkevil Subject: injected")


def test_only_http_urls_become_links() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,<script>") is None
    assert safe_url("http:no-host") is None
    assert safe_url("https://example.com/a b") is None
    assert safe_url("https://news.ycombinator.com/item?id=1") == (
        "https://news.ycombinator.com/item?id=1"
    )


def test_link_targets_lose_every_character_that_could_end_them() -> None:
    url = safe_url(HOSTILE.url)
    assert url is not None
    assert not any(c in url for c in '<>|" ')
    assert url.startswith("http://evil.example/a%22%3E%3Cscript%3E")


def test_durations_use_at_most_two_units() -> None:
    assert format_duration(timedelta(seconds=45)) == "45 s"
    assert format_duration(timedelta(minutes=12, seconds=59)) == "12 min"
    assert format_duration(timedelta(hours=1)) == "1 h"
    assert format_duration(timedelta(hours=2, minutes=15)) == "2 h 15 min"
    assert format_duration(timedelta(days=3, hours=4, minutes=5)) == "3 d 4 h"


def test_reach_weighted_counts_keep_one_decimal() -> None:
    assert format_number(42.0) == "42"
    assert format_number(17.25) == "17.2"
    assert format_number(0.25) == "0.25"
    assert format_ratio(float("inf")) == "n/a"


def test_zero_width_characters_are_stripped() -> None:
    assert clean("a\u200b*b*\u200dc\ufeffd", 100) == "a*b*cd"


def test_drivers_breakdown_and_duplicate_counts_are_shown() -> None:
    alert = make_alert(
        drivers=("outage", "login broken"),
        breakdown=(("outage topic", 12.0), ("hackernews", 9.0)),
        top_mentions=(dataclasses.replace(alert_mention(), duplicates=3),),
    )
    v = view(alert)
    facts = dict(v.facts)
    assert facts["Drivers"] == "outage, login broken"
    assert facts["Breakdown"] == "outage topic ×12, hackernews ×9"
    assert v.evidence[0].text.endswith("(×3)")


def test_growth_of_an_open_incident_is_worded_as_an_update() -> None:
    v = view(make_alert(kind="updated"))
    assert v.title.startswith("Growing: negative spike")
