"""Spike drivers on real tweets (VADER's ground truth) with a scripted complaint burst planted."""

from __future__ import annotations

from monitor.alerting.drivers import collapse_duplicates, drivers
from tests.helpers import fixture_path

BRAND = ["Acme", "@acmehq"]


def tweets() -> list[str]:
    rows = fixture_path("sentiment", "tweets_GroundTruth.txt").read_text().splitlines()
    return [r.split("\t")[2] for r in rows]


# The burst: three complaints told in many people's own words.
PLANTED = [
    "my Acme phone has terrible battery drain since the update",
    "@acmehq battery drain is awful, dead by lunch",
    "anyone else getting battery drain on the new Acme firmware?",
    "Acme battery drain again. Charging three times a day now",
    "the battery drain on this Acme is ridiculous",
    "ugh battery drain, thanks Acme",
    "Acme still hasn't sent my refund after two weeks",
    "waiting forever for a refund from @acmehq",
    "no refund, no reply. Acme support is a joke",
    "Acme refund process is a nightmare",
    "Acme app keeps crashing when I open settings",
    "the app keeps crashing, Acme please fix",
    "Acme app crashing every five minutes",
]
# One viral post copied many times: it must count once, not drown the burst.
VIRAL = "Boycott Acme, the giveaway was a scam!!! https://t.co/abc123"


def test_drivers_name_the_planted_complaints() -> None:
    all_tweets = tweets()
    baseline, background = all_tweets[:3000], all_tweets[3000:3060]
    window = background + PLANTED + [VIRAL.replace("abc123", f"x{i}") for i in range(40)]
    named = [term for term, _ in drivers(window, baseline, BRAND, k=5)]
    assert "battery drain" in named
    assert "refund" in named
    assert any("crashing" in term for term in named)
    assert not any(term in ("acme", "acmehq") for term in named)
    assert "giveaway" not in named and "scam" not in named


def test_drivers_leave_out_stop_words_and_brand_terms() -> None:
    baseline = tweets()[:2000]
    named = drivers(PLANTED * 1, baseline, BRAND, k=10)
    words = {w for term, _ in named for w in term.split()}
    assert not words & {"the", "is", "my", "on", "a", "acme", "acmehq"}


def test_drivers_of_an_empty_window_are_empty() -> None:
    assert drivers([], tweets()[:100], BRAND) == []


def test_reposts_differing_in_case_links_handles_and_punctuation_collapse() -> None:
    copies = [
        "Acme lost my order AGAIN. https://t.co/1",
        "acme lost my order again https://t.co/2",
        "@bob Acme lost my order... again!",
        "  Acme  lost my order again  ",
    ]
    assert collapse_duplicates(copies) == [(copies[0], 4)]


def test_retweet_with_a_prefix_collapses_by_shingles() -> None:
    original = "Acme charged my card twice for one order and support keeps closing the ticket"
    retweet = f"RT @carol: {original} #fail"
    assert collapse_duplicates([original, retweet]) == [(original, 2)]


def test_five_different_complaints_stay_five() -> None:
    distinct = PLANTED[0], PLANTED[6], PLANTED[10], PLANTED[2], PLANTED[8]
    assert [n for _, n in collapse_duplicates(distinct)] == [1, 1, 1, 1, 1]


def test_collapse_keeps_any_item_type_by_its_text() -> None:
    items = [("m1", "Acme is down"), ("m2", "ACME is down!"), ("m3", "Acme refund please")]
    collapsed = collapse_duplicates(items, text=lambda item: item[1])
    assert collapsed == [(items[0], 2), (items[2], 1)]
