"""What a spike is about: the words over-represented in its window, and its distinct complaints.

`drivers` ranks words and two-word phrases by their log-odds ratio between the window's negative
mentions and the baseline's, with an informative Dirichlet prior from both together (Monroe,
Colaresi & Quinn, 2008, "Fightin' Words"): rare words do not win on one lucky mention and common
ones need a real shift. Stop words and the brand's own terms are left out, each text counts a word
once, and a reposted or copy-pasted text counts once, so one viral post cannot fill the list.

`collapse_duplicates` groups near-duplicates: the same text once case, whitespace, links,
@handles and punctuation are set aside, or word shingles that mostly agree.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[\w.]+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Near-duplicate when word-trigram sets overlap this much (a retweet with a few words added).
JACCARD = 0.8
_ANCHORS = 4  # bottom-k shingle hashes indexed per text, so candidates are found without n**2
# Texts shorter than this many words only collapse when they match exactly.
_MIN_SHINGLE_WORDS = 6
# A word is named by a phrase holding it when the phrase covers this share of its texts.
_PHRASE_SHARE = 0.75

_STOP_TEXT = """a about above after again against all am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing
    don't down during each few for from further get got had hadn't has hasn't have haven't having he
    her here hers herself him himself his how i i'm i've if in into is isn't it it's its itself just
    let's me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own rt same she should shouldn't so some such than that that's the their theirs them
    themselves then there these they they're this those through to too under until up us very via
    was wasn't we we're were weren't what when where which while who whom why will with won't would
    wouldn't you you're your yours yourself yourselves im ive dont cant amp"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def normalise(text: str) -> str:
    """The text with case, links, @handles, punctuation and spacing set aside."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text.lower()))
    return " ".join(_WORD.findall(text))


def _shingles(words: Sequence[str]) -> set[str]:
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def _hash(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")


def collapse_duplicates(items: Iterable[T], text: Callable[[T], str] = str) -> list[tuple[T, int]]:
    """Each distinct item (the first seen of its group) with how many near-duplicates it stands
    for, in order of first appearance."""
    groups: list[list[T | int]] = []  # [representative, n]
    by_key: dict[str, int] = {}
    shingles: list[set[str]] = []
    by_anchor: dict[int, list[int]] = {}
    for item in items:
        key = normalise(text(item))
        if key in by_key:
            groups[by_key[key]][1] += 1  # type: ignore[operator]
            continue
        words = key.split()
        own = _shingles(words) if len(words) >= _MIN_SHINGLE_WORDS else set()
        anchors = sorted(_hash(s) for s in own)[:_ANCHORS]
        match = None
        for candidate in dict.fromkeys(g for a in anchors for g in by_anchor.get(a, [])):
            other = shingles[candidate]
            if len(own & other) / len(own | other) >= JACCARD:
                match = candidate
                break
        if match is not None:
            groups[match][1] += 1  # type: ignore[operator]
            by_key[key] = match
            continue
        index = len(groups)
        groups.append([item, 1])
        shingles.append(own)
        by_key[key] = index
        for a in anchors:
            by_anchor.setdefault(a, []).append(index)
    return [(g[0], g[1]) for g in groups]  # type: ignore[misc]


def _terms(text: str, excluded: frozenset[str]) -> set[str]:
    words = normalise(text).split()
    keep = [
        w not in STOP_WORDS and w not in excluded and not w.isdigit() and len(w) > 1 for w in words
    ]
    kept = [w if k else None for w, k in zip(words, keep, strict=True)]
    terms = {w for w in kept if w is not None}
    return terms | {f"{a} {b}" for a, b in itertools.pairwise(kept) if a and b}


def _document_frequencies(texts: Iterable[str], excluded: frozenset[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text, _ in collapse_duplicates(texts):
        counts.update(_terms(text, excluded))
    return counts


def drivers(
    window_texts: Iterable[str],
    baseline_texts: Iterable[str],
    brand_terms: Iterable[str],
    k: int = 5,
    *,
    prior: float = 1.0,
    min_texts: int = 2,
) -> list[tuple[str, float]]:
    """The k words or phrases most over-represented in the window, with their z-scores.

    The prior for each term is `prior` times its count in window and baseline together, so the
    prior's total weight is that of both corpora. A word that mostly occurs inside one phrase is
    named by the phrase ("battery drain", not "battery" and "drain"), and no two drivers share a
    word.
    """
    excluded = frozenset(w for term in brand_terms for w in normalise(term).split())
    window = _document_frequencies(window_texts, excluded)
    baseline = _document_frequencies(baseline_texts, excluded)
    if not window:
        return []
    together = window + baseline
    a0 = prior * sum(together.values())
    size_w, size_b = sum(window.values()), sum(baseline.values())
    z_of: dict[str, float] = {}
    for term, y_w in window.items():
        if y_w < min_texts:
            continue
        a, y_b = prior * together[term], baseline[term]
        delta = math.log((y_w + a) / (size_w + a0 - y_w - a)) - math.log(
            (y_b + a) / (size_b + a0 - y_b - a)
        )
        z = delta / math.sqrt(1.0 / (y_w + a) + 1.0 / (y_b + a))
        if z > 0:
            z_of[term] = z
    phrases: dict[str, list[str]] = {}
    for term in z_of:
        if " " in term:
            for word in term.split():
                phrases.setdefault(word, []).append(term)
    chosen: list[tuple[str, float]] = []
    used: set[str] = set()
    for term in sorted(z_of, key=lambda t: (-z_of[t], t)):
        # A word mostly seen inside one phrase is better named by that phrase.
        holders = [p for p in phrases.get(term, []) if window[p] >= _PHRASE_SHARE * window[term]]
        if holders:
            term = max(holders, key=lambda p: (window[p], z_of[p]))
        words = set(term.split())
        if words & used:
            continue
        chosen.append((term, round(z_of[term], 2)))
        used |= words
        if len(chosen) == k:
            break
    return chosen
