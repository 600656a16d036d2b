"""Does a text mention a brand? Any-of terms, none-of excludes, whole words, any case."""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.config import BrandConfig
from monitor.models import Mention

# Channels whose every item is about the brand by construction (an app's own reviews).
SCOPED_CHANNELS = frozenset({"appstore"})


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


class BrandMatcher:
    def __init__(self, brand: BrandConfig) -> None:
        self.brand = brand
        self.terms = term_pattern(brand.terms)
        self.exclude = term_pattern(brand.exclude)
        self.topics = {name: term_pattern(words) for name, words in brand.topics.items()}
        self.languages = {lang.lower() for lang in brand.languages}

    def matches(self, mention: Mention) -> bool:
        if self.languages and mention.lang and mention.lang.lower()[:2] not in self.languages:
            return False
        if self.exclude is not None and self.exclude.search(mention.text):
            return False
        if mention.channel in SCOPED_CHANNELS:
            return True
        return self.terms is not None and self.terms.search(mention.text) is not None

    def topics_of(self, text: str) -> tuple[str, ...]:
        return tuple(
            name for name, pattern in self.topics.items() if pattern and pattern.search(text)
        )
