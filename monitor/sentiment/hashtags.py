"""Hashtags split into words, so "#worstservice" reads as "worst service"."""

from __future__ import annotations

import re
from collections.abc import Mapping

_HASHTAG = re.compile(r"#([A-Za-z]{4,40})\b")
_LONGEST_WORD = 16


class HashtagSegmenter:
    """Splits a hashtag into known words: the lexicon's words and a list of common ones.

    A hashtag VADER already knows ("#fail") is left alone; one that does not split entirely
    into known words, or splits into words none of which carries a valence, is left alone too,
    so an unknown hashtag never scores differently than it did.
    """

    def __init__(self, lexicon: Mapping[str, float], common: frozenset[str]) -> None:
        self.lexicon = lexicon
        self.words = frozenset(w for w in lexicon if w.isalpha()) | common

    def split(self, tag: str) -> list[str] | None:
        """The fewest known words that make up ``tag`` (lower case), or None."""
        best: list[list[str] | None] = [[]] + [None] * len(tag)
        for end in range(1, len(tag) + 1):
            for start in range(max(0, end - _LONGEST_WORD), end):
                head, current = best[start], best[end]
                if head is None or tag[start:end] not in self.words:
                    continue
                if current is None or len(head) + 1 < len(current):
                    best[end] = [*head, tag[start:end]]
        return best[len(tag)]

    def _replace(self, match: re.Match[str]) -> str:
        tag = match.group(1).lower()
        if tag in self.lexicon:
            return match.group(0)
        words = self.split(tag)
        if not words or len(words) < 2 or not any(self.lexicon.get(w) for w in words):
            return match.group(0)
        return " ".join(words)

    def split_all(self, text: str) -> str:
        return _HASHTAG.sub(self._replace, text)
