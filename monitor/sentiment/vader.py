"""Our VADER: linear in the text's length, and reading a phrase rule's token at its own valence.

vaderSentiment 3.3.2 rebuilds the lower-cased word list for every sentiment word (in
``_negation_check`` and ``_special_idioms_check``) and looks each sentiment up with
``list.index`` in ``_but_check``, so a 10 KB mention costs ~200 ms. Here each text is
lower-cased once and the checks index that list. The methods below restate VADER's own
(``polarity_scores``, ``sentiment_valence`` and its checks) step for step, so scores are
identical to the stock analyzer's; they rely on its internals, hence the version pin on
vaderSentiment in pyproject.toml, and tests/sentiment/test_vader.py compares the two on the
ground-truth sets and on long texts.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
    scalar_inc_dec,
)

Sentiment = float | int  # VADER keeps a plain 0 for words it does not score
_NEGATE = frozenset(NEGATE)


def _negated(word: str) -> bool:
    """VADER's ``negated([word])`` for one lower-cased word, without its list scan per call."""
    return word in _NEGATE or "n't" in word


class Vader(SentimentIntensityAnalyzer):  # type: ignore[misc]  # vaderSentiment is untyped
    """VADER, linear in length; a rule's synthetic token reads at ``rule_valences[token]``.

    A rule has already read its own negation ("never arrived", "can't log in"), so VADER's
    negation and intensifier look-back must not flip it again: in "can't log in. still no
    refund" the "can't" would otherwise turn the second complaint into praise. Rule tokens are
    not in the lexicon, so the words after one read it as VADER reads any unknown word.
    """

    rule_valences: Mapping[str, float] = {}

    def polarity_scores(self, text: str) -> dict[str, float]:
        text = self._describe_emoji(text)
        _words, sentiments = self._sentiments(text)
        scores: dict[str, float] = self.score_valence(sentiments, text)
        return scores

    def word_valences(self, text: str) -> list[tuple[str, Sentiment]]:
        """Each word VADER reads, with what it adds to the sum (negation, boosters, caps and
        the "but" rule applied): what ``polarity_scores`` totals, to explain a score."""
        words, sentiments = self._sentiments(self._describe_emoji(text))
        return list(zip(words, sentiments, strict=True))

    def _sentiments(self, text: str) -> tuple[list[str], list[Sentiment]]:
        sentitext = SentiText(text)
        words: list[str] = sentitext.words_and_emoticons
        lowered = [w.lower() for w in words]
        last = len(lowered) - 1
        sentiments: list[Sentiment] = []
        for i, item in enumerate(lowered):
            if item in BOOSTER_DICT or (i < last and item == "kind" and lowered[i + 1] == "of"):
                sentiments.append(0)
                continue
            sentiments.append(self._valence(words, lowered, sentitext.is_cap_diff, i))
        return words, _but_check(lowered, sentiments)

    def _describe_emoji(self, text: str) -> str:
        """VADER's emoji step: each emoji becomes its description, spaced from the word before."""
        if self.emojis.keys().isdisjoint(text):
            return text.strip()
        out: list[str] = []
        prev_space = True
        for char in text:
            description = self.emojis.get(char)
            if description is None:
                out.append(char)
                prev_space = char == " "
            else:
                if not prev_space:
                    out.append(" ")
                out.append(description)
                prev_space = False
        return "".join(out).strip()

    def _valence(
        self, words: list[str], lowered: list[str], is_cap_diff: bool, i: int
    ) -> Sentiment:
        """VADER's ``sentiment_valence`` for word i, reading the one lower-cased list."""
        lexicon = self.lexicon
        item, item_lower = words[i], lowered[i]
        valence = lexicon.get(item_lower)
        if valence is None:
            fixed = self.rule_valences.get(item_lower) if self.rule_valences else None
            if fixed is None:
                return 0
            return fixed - C_INCR if item.isupper() and is_cap_diff else fixed
        if item_lower == "no" and i != len(lowered) - 1 and lowered[i + 1] in lexicon:
            valence = 0.0
        if (
            (i > 0 and lowered[i - 1] == "no")
            or (i > 1 and lowered[i - 2] == "no")
            or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[item_lower] * N_SCALAR
        if item.isupper() and is_cap_diff:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            before = i - (start_i + 1)
            if i > start_i and lowered[before] not in lexicon:
                s = scalar_inc_dec(words[before], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, lowered, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, lowered, i)
        return self._least(valence, lowered, i)

    def _least(self, valence: float, lowered: list[str], i: int) -> float:
        if i > 1 and lowered[i - 1] not in self.lexicon and lowered[i - 1] == "least":
            if lowered[i - 2] != "at" and lowered[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and lowered[i - 1] not in self.lexicon and lowered[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence


def _negation_check(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    before = lowered[i - (start_i + 1)]
    if start_i == 1:
        if lowered[i - 2] == "never" and lowered[i - 1] in ("so", "this"):
            return valence * 1.25
        if lowered[i - 2] == "without" and lowered[i - 1] == "doubt":
            return valence
    elif start_i == 2:
        # VADER's precedence: ("never" and "so"/"this" two back) or "so"/"this" one back.
        if (lowered[i - 3] == "never" and lowered[i - 2] in ("so", "this")) or lowered[i - 1] in (
            "so",
            "this",
        ):
            return valence * 1.25
        if lowered[i - 3] == "without" and "doubt" in (lowered[i - 2], lowered[i - 1]):
            return valence
    return valence * N_SCALAR if _negated(before) else valence


def _special_idioms_check(valence: float, lowered: list[str], i: int) -> float:
    onezero = f"{lowered[i - 1]} {lowered[i]}"
    twoonezero = f"{lowered[i - 2]} {lowered[i - 1]} {lowered[i]}"
    twoone = f"{lowered[i - 2]} {lowered[i - 1]}"
    threetwoone = f"{lowered[i - 3]} {lowered[i - 2]} {lowered[i - 1]}"
    threetwo = f"{lowered[i - 3]} {lowered[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lowered) - 1 > i:
        zeroone = f"{lowered[i]} {lowered[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lowered) - 1 > i + 1:
        zeroonetwo = f"{lowered[i]} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _but_check(lowered: Sequence[str], sentiments: list[Sentiment]) -> list[Sentiment]:
    """VADER's "but" rule, with the same result as its ``sentiments.index`` walk.

    VADER visits each position k, finds the FIRST position holding an equal value (not k
    itself when an earlier score has the same value), and scales the score there: by 0.5
    before the first "but", by 1.5 after it. Equal values are common (0, repeated words), so
    the result depends on that quirk; a min-heap of positions per value replays it in
    O(n log n) instead of O(n²).
    """
    if "but" not in lowered:
        return sentiments
    bi = lowered.index("but")
    where: dict[Sentiment, list[int]] = {}
    for position, value in enumerate(sentiments):
        where.setdefault(value, []).append(position)  # ascending, so already a heap
    for k in range(len(sentiments)):
        value = sentiments[k]
        si = where[value][0]
        if si == bi:
            continue
        scaled = value * 0.5 if si < bi else value * 1.5
        heapq.heappop(where[value])
        if not where[value]:
            del where[value]
        sentiments[si] = scaled
        heapq.heappush(where.setdefault(scaled, []), si)
    return sentiments
