"""Brand matching: any-of terms, none-of excludes, whole words, handles, tags, phrases, topics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.config import BrandConfig
from monitor.matching import BrandMatcher, normalize_domain
from monitor.models import Mention


def mention(
    text: str,
    channel: str = "hackernews",
    lang: str | None = None,
    *,
    author: str = "someone",
    url: str = "https://e.example",
) -> Mention:
    return Mention(
        channel,
        "1",
        url,
        author,
        text,
        datetime(2026, 1, 1, tzinfo=UTC),
        lang=lang,
    )


def matcher(
    exclude_authors: tuple[str, ...] = (), exclude_domains: tuple[str, ...] = (), **kwargs: object
) -> BrandMatcher:
    options: dict[str, object] = {"name": "Acme", "terms": ("acme",)} | kwargs
    return BrandMatcher(
        BrandConfig(**options),  # type: ignore[arg-type]
        exclude_authors=exclude_authors,
        exclude_domains=exclude_domains,
    )


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


def test_muted_author_matches_in_any_case_with_or_without_at() -> None:
    m = matcher(exclude_authors=("@SpamBot", "troll"))
    assert m.reject_reason(mention("acme deals", author="spambot")) == "muted_author"
    assert m.reject_reason(mention("acme deals", author="@TROLL")) == "muted_author"
    assert m.matches(mention("acme deals", author="spambot2"))


def test_muted_fediverse_author_keeps_its_server() -> None:
    m = matcher(exclude_authors=("@bot@spam.social",))
    assert m.reject_reason(mention("acme", author="bot@spam.social")) == "muted_author"
    assert m.matches(mention("acme", author="bot@mastodon.social"))


def test_muted_domain_mutes_itself_and_its_subdomains() -> None:
    m = matcher(exclude_domains=("Spam.example",))
    assert m.reject_reason(mention("acme", url="https://spam.example/a")) == "muted_domain"
    assert m.reject_reason(mention("acme", url="http://news.SPAM.example:8080/")) == "muted_domain"
    assert m.matches(mention("acme", url="https://notspam.example/a"))
    assert m.matches(mention("acme", url="https://spam.example.org/a"))


def test_muted_domain_ignores_a_malformed_url() -> None:
    m = matcher(exclude_domains=("spam.example",))
    assert m.matches(mention("acme", url="http://[::1/broken"))


def test_muting_is_reported_before_the_terms_are_looked_at() -> None:
    m = matcher(exclude_authors=("bot",))
    assert m.reject_reason(mention("nothing relevant", author="bot")) == "muted_author"


def test_reject_reason_names_language_excluded_term_and_missing_term() -> None:
    m = matcher(languages=("en",), exclude=("looney tunes",))
    assert m.reject_reason(mention("acme est génial", lang="fr")) == "language"
    assert m.reject_reason(mention("acme looney tunes")) == "excluded_term"
    assert m.reject_reason(mention("nothing here")) == "no_term"
    assert m.reject_reason(mention("acme works")) is None


def test_domain_setting_accepts_a_url_a_wildcard_or_a_port() -> None:
    assert normalize_domain("https://Example.com/path") == "example.com"
    assert normalize_domain("*.example.com") == "example.com"
    assert normalize_domain("example.com:443") == "example.com"


def test_domain_setting_that_is_not_a_host_name_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'not a domain' is not a domain"):
        normalize_domain("not a domain")


def test_partition_keeps_matches_and_counts_the_rest_by_reason() -> None:
    m = matcher(exclude_authors=("bot",), exclude_domains=("spam.example",))
    kept, rejected = m.partition(
        [
            mention("acme one"),
            mention("acme two", author="Bot"),
            mention("acme three", url="https://x.spam.example/p"),
            mention("unrelated"),
            mention("acme four"),
        ]
    )
    assert [k.text for k in kept] == ["acme one", "acme four"]
    assert rejected == {"muted_author": 1, "muted_domain": 1, "no_term": 1}


def test_a_link_in_the_text_to_a_muted_domain_mutes_the_mention() -> None:
    m = matcher(exclude_domains=("spam.example",))
    text = "acme deals at https://shop.spam.example/acme?ref=1 today"
    assert m.reject_reason(mention(text, url="https://news.ycombinator.com/item?id=1")) == (
        "muted_domain"
    )
    assert m.matches(mention("acme at https://acme.example/spam.example"))
