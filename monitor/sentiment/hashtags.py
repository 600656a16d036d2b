"""Hashtags split into words, so "#worstservice" reads as "worst service"."""

from __future__ import annotations

import re
from collections.abc import Mapping

_HASHTAG = re.compile(r"#([A-Za-z]{4,40})\b")
_LONGEST_WORD = 16
_MAX_CACHED = 10_000
_UNSEEN: list[str] = []


class HashtagSegmenter:
    """Splits a hashtag into known words: the lexicon's words and a list of common ones.

    A hashtag VADER already knows ("#fail") is left alone; one that does not split entirely
    into known words, or splits into words none of which carries a valence, is left alone too,
    so an unknown hashtag never scores differently than it did.
    """

    def __init__(self, lexicon: Mapping[str, float], common: frozenset[str]) -> None:
        self.lexicon = lexicon
        self.words = frozenset(w for w in lexicon if w.isalpha()) | common
        self._splits: dict[str, list[str] | None] = {}

    def split(self, tag: str) -> list[str] | None:
        """The fewest known words that make up ``tag`` (lower case), or None.

        Of equally few, the one whose last word is longest (then the one before it, ...).
        """
        best: list[list[str] | None] = [[]] + [None] * len(tag)
        # Forward from each reachable start only: most starts inside a tag are unreachable.
        # Starts are visited in ascending order and only a strictly shorter split replaces
        # one, so each end keeps the split from its smallest start, as a backward scan would.
        for start, head in enumerate(best):
            if head is None or start == len(tag):
                continue
            for end in range(start + 1, min(start + _LONGEST_WORD, len(tag)) + 1):
                if tag[start:end] in self.words:
                    current = best[end]
                    if current is None or len(head) + 1 < len(current):
                        best[end] = [*head, tag[start:end]]
        return best[len(tag)]

    def _replace(self, match: re.Match[str]) -> str:
        tag = match.group(1).lower()
        if tag in self.lexicon:
            return match.group(0)
        # Campaign and complaint hashtags repeat across mentions: each is split once.
        words = self._splits.get(tag, _UNSEEN)
        if words is _UNSEEN:
            words = self.split(tag)
            if len(self._splits) < _MAX_CACHED:
                self._splits[tag] = words
        if not words or len(words) < 2 or not any(self.lexicon.get(w) for w in words):
            return match.group(0)
        return " ".join(words)

    def split_all(self, text: str) -> str:
        return _HASHTAG.sub(self._replace, text)
