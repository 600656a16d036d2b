"""Brand matching: any-of terms, none-of excludes, whole words, handles, tags, phrases, topics."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config import BrandConfig
from monitor.matching import BrandMatcher
from monitor.models import Mention


def mention(text: str, channel: str = "hackernews", lang: str | None = None) -> Mention:
    return Mention(
        channel,
        "1",
        "https://e.example",
        "someone",
        text,
        datetime(2026, 1, 1, tzinfo=UTC),
        lang=lang,
    )


def matcher(**kwargs: object) -> BrandMatcher:
    options: dict[str, object] = {"name": "Acme", "terms": ("acme",)} | kwargs
    return BrandMatcher(BrandConfig(**options))  # type: ignore[arg-type]


def test_term_matches_in_any_case() -> None:
    assert matcher().matches(mention("I love ACME products"))


def test_term_does_not_match_inside_a_longer_word() -> None:
    assert not matcher().matches(mention("Greetings from Acmeville"))


def test_term_matches_before_punctuation_and_possessive() -> None:
    assert matcher().matches(mention("acme's new app, acme."))


def test_exclude_wins_over_terms() -> None:
    m = matcher(exclude=("acme looney tunes",))
    assert not m.matches(mention("The ACME Looney Tunes anvil again"))


def test_handle_and_tag_match_as_written() -> None:
    m = matcher(terms=("@acmehq", "#acmefail"))
    assert m.matches(mention("cc @AcmeHQ please fix"))
    assert m.matches(mention("down again #acmefail"))
    assert not m.matches(mention("cc @acmehqsupport"))


def test_quoted_phrase_matches_with_any_whitespace() -> None:
    m = matcher(terms=('"acme corp"',))
    assert m.matches(mention("Acme\nCorp announced"))
    assert not m.matches(mention("acme announced a corp"))


def test_languages_drop_mentions_reported_in_another_language() -> None:
    m = matcher(languages=("en",))
    assert m.matches(mention("acme rocks", lang="en-GB"))
    assert not m.matches(mention("acme est génial", lang="fr"))
    assert m.matches(mention("acme rocks", lang=None))


def test_topics_tag_each_mention_with_every_topic_it_matches() -> None:
    m = matcher(topics={"outage": ("down", "outage"), "billing": ("refund",), "ui": ("button",)})
    assert m.topics_of("Acme is down and I want a refund") == ("outage", "billing")


def test_app_store_reviews_need_no_term() -> None:
    assert matcher().matches(mention("Crashes on launch", channel="appstore"))
