"""Does a text mention a brand? Any-of terms, none-of excludes, whole words, any case, muted
authors and domains. `reject_reason` says why a mention was dropped, so polls can count them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal, Protocol
from urllib.parse import urlsplit

from monitor.addresses import normalize_domain
from monitor.models import Mention

# Channels whose every item is about the brand by construction (an app's own reviews).
SCOPED_CHANNELS = frozenset({"appstore"})

RejectReason = Literal["muted_author", "muted_domain", "language", "excluded_term", "no_term"]
REJECT_REASONS: tuple[RejectReason, ...] = (
    "muted_author",
    "muted_domain",
    "language",
    "excluded_term",
    "no_term",
)

_LINK = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)


def term_pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    """One compiled alternation. A term matches only as a whole word or phrase.

    `"acme"` does not match "acmeville"; `@acmehq` and `#acme` match the handle and the tag;
    a quoted or multi-word term matches the phrase with any whitespace between its words.
    """
    parts = []
    for term in terms:
        bare = term.strip().strip('"').strip()
        if not bare:
            continue
        words = [re.escape(w) for w in bare.split()]
        parts.append(r"\s+".join(words))
    if not parts:
        return None
    # Longest first so "acme corp" wins over "acme" when reporting what matched.
    parts.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def normalize_author(author: str) -> str:
    """`@Spammer`, `spammer` and ` SPAMMER ` are one author; Mastodon's `user@host` keeps its host."""
    return author.strip().removeprefix("@").casefold()


def host_of(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:  # a stranger's malformed URL (e.g. a bad IPv6 literal)
        return None
    if not host:
        return None
    try:
        return host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return host.rstrip(".")


def domain_muted(host: str, muted: frozenset[str]) -> bool:
    """A muted domain covers itself and every subdomain: `example.com` mutes `a.b.example.com`."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in muted for i in range(len(labels)))


class BrandTerms(Protocol):
    """What matching reads from a brand's config (config.BrandConfig has it). Not importing
    config keeps this module below it, so config validation can use normalize_domain."""

    @property
    def terms(self) -> tuple[str, ...]: ...
    @property
    def exclude(self) -> tuple[str, ...]: ...
    @property
    def languages(self) -> tuple[str, ...]: ...
    @property
    def topics(self) -> Mapping[str, tuple[str, ...]]: ...


class BrandMatcher:
    def __init__(
        self,
        brand: BrandTerms,
        *,
        exclude_authors: Iterable[str] = (),
        exclude_domains: Iterable[str] = (),
    ) -> None:
        self.brand = brand
        self.terms = term_pattern(brand.terms)
        self.exclude = term_pattern(brand.exclude)
        self.topics = {name: term_pattern(words) for name, words in brand.topics.items()}
        self.languages = {lang.lower() for lang in brand.languages}
        self.muted_authors = frozenset(normalize_author(a) for a in exclude_authors) - {""}
        self.muted_domains = frozenset(normalize_domain(d) for d in exclude_domains)

    def reject_reason(self, mention: Mention) -> RejectReason | None:
        """Why this mention is not kept for the brand, or None when it is.

        Muting is checked first: a muted author's post is counted as muted whatever it says.
        """
        if self.muted_authors and normalize_author(mention.author) in self.muted_authors:
            return "muted_author"
        if self.muted_domains and self._links_muted_domain(mention):
            return "muted_domain"
        if self.languages and mention.lang and mention.lang.lower()[:2] not in self.languages:
            return "language"
        if self.exclude is not None and self.exclude.search(mention.text):
            return "excluded_term"
        if mention.channel in SCOPED_CHANNELS:
            return None
        if self.terms is None or self.terms.search(mention.text) is None:
            return "no_term"
        return None

    def _links_muted_domain(self, mention: Mention) -> bool:
        """The mention's own URL (an RSS item's link, a Mastodon post's server) or a link in
        its text points into a muted domain."""
        urls = [mention.url, *_LINK.findall(mention.text)]
        hosts = (host_of(url) for url in urls)
        return any(host is not None and domain_muted(host, self.muted_domains) for host in hosts)

    def matches(self, mention: Mention) -> bool:
        return self.reject_reason(mention) is None

    def partition(self, mentions: Iterable[Mention]) -> tuple[list[Mention], dict[str, int]]:
        """The mentions kept, and how many were dropped for each reason (for status, metrics)."""
        kept: list[Mention] = []
        rejected: dict[str, int] = {}
        for mention in mentions:
            reason = self.reject_reason(mention)
            if reason is None:
                kept.append(mention)
            else:
                rejected[reason] = rejected.get(reason, 0) + 1
        return kept, rejected

    def topics_of(self, text: str) -> tuple[str, ...]:
        return tuple(
            name for name, pattern in self.topics.items() if pattern and pattern.search(text)
        )
