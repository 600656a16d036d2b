"""Our VADER: the stock analyzer's scores, exactly, for a fraction of its work per text.

vaderSentiment 3.3.2 rebuilds the lower-cased word list for every sentiment word (in
``_negation_check`` and ``_special_idioms_check``), looks each sentiment up with ``list.index``
in ``_but_check`` (quadratic), builds the emoji-free text a character at a time, and walks every
word through ``sentiment_valence`` although most words are in no list at all. Here each text is
split and lower-cased once, a set intersection finds the few words VADER scores (a text with
none is neutral without a walk), and only those words run the rules, reading the one list; the
idiom check runs only when a word near it can start an idiom. Each step restates VADER's own,
in its order of float operations, so every score equals the stock analyzer's bit for bit; that
relies on its internals, hence the version pin on vaderSentiment in pyproject.toml, and
tests/sentiment/test_vader.py compares the two on the ground-truth sets and adversarial texts.
"""

from __future__ import annotations

import heapq
import math
import string
from collections.abc import Mapping, Sequence

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

Sentiment = float | int  # VADER keeps a plain 0 for words it does not score
_NEGATE = frozenset(NEGATE)
_PUNCTUATION = string.punctuation
# The first words of VADER's multi-word idioms and boosters: a word's idiom check can change
# its valence only when one of the words it reads (three before, itself) starts one of them.
_IDIOM_STARTS = frozenset(key.split()[0] for key in [*SPECIAL_CASES, *BOOSTER_DICT] if " " in key)


def _negated(word: str) -> bool:
    """VADER's ``negated([word])`` for one lower-cased word, without its list scan per call."""
    return word in _NEGATE or "n't" in word


def _neutral() -> dict[str, float]:
    return {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}


class Vader(SentimentIntensityAnalyzer):  # type: ignore[misc]  # vaderSentiment is untyped
    """VADER, fast; a rule's synthetic token reads at ``rule_valences[token]``.

    A rule has already read its own negation ("never arrived", "can't log in"), so VADER's
    negation and intensifier look-back must not flip it again: in "can't log in. still no
    refund" the "can't" would otherwise turn the second complaint into praise. Rule tokens are
    not in the lexicon, so the words after one read it as VADER reads any unknown word.
    """

    rule_valences: Mapping[str, float] = {}
    _emoji_check: tuple[object, bool] = (None, False)

    def polarity_scores(self, text: str) -> dict[str, float]:
        text = self._describe_emoji(text)
        words, lowered = _words(text)
        if not words:
            return {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
        scored = self.lexicon.keys() & lowered
        if not scored and (not self.rule_valences or self.rule_valences.keys().isdisjoint(lowered)):
            return _neutral()
        return _score_valence(self._valences(words, lowered, scored), text)

    def word_valences(self, text: str) -> list[tuple[str, Sentiment]]:
        """Each word VADER reads, with what it adds to the sum (negation, boosters, caps and
        the "but" rule applied): what ``polarity_scores`` totals, to explain a score."""
        words, lowered = _words(self._describe_emoji(text))
        sentiments = self._valences(words, lowered, self.lexicon.keys() & lowered)
        return list(zip(words, sentiments, strict=True))

    def _valences(self, words: list[str], lowered: list[str], scored: set[str]) -> list[Sentiment]:
        """VADER's sentiments list: a plain 0 for each word it does not score, as it keeps."""
        sentiments: list[Sentiment] = [0] * len(words)
        rules = self.rule_valences
        is_cap_diff: bool | None = None
        last = len(lowered) - 1
        for i, item in enumerate(lowered):
            if item in scored:
                if item in BOOSTER_DICT or (item == "kind" and i < last and lowered[i + 1] == "of"):
                    continue
            elif not rules or item not in rules:
                continue
            if is_cap_diff is None:
                caps = sum(map(str.isupper, words))
                is_cap_diff = 0 < caps < len(words)
            sentiments[i] = self._valence(words, lowered, is_cap_diff, i)
        if "but" in lowered:
            _but_check(lowered, sentiments)
        return sentiments

    def _describe_emoji(self, text: str) -> str:
        """VADER's emoji step: each emoji becomes its description, spaced from the word before."""
        emojis = self.emojis
        if self._emoji_check[0] is not emojis:  # once per emoji table: are all its keys non-ASCII?
            self._emoji_check = (emojis, not any(key.isascii() for key in emojis))
        # isascii() is O(1); the scan for an emoji reads every character of the text.
        if (text.isascii() and self._emoji_check[1]) or emojis.keys().isdisjoint(text):
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
        if is_cap_diff and item.isupper():
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            before = i - (start_i + 1)
            if before < 0:
                break
            before_lower = lowered[before]
            if before_lower in lexicon:
                continue
            # VADER's scalar_inc_dec, on the word's lower-cased form it already has.
            s = 0.0
            booster = BOOSTER_DICT.get(before_lower)
            if booster is not None:
                s = -booster if valence < 0 else booster
                if is_cap_diff and words[before].isupper():
                    s = s + C_INCR if valence > 0 else s - C_INCR
                if start_i == 1 and s != 0:
                    s = s * 0.95
                elif start_i == 2 and s != 0:
                    s = s * 0.9
            valence = valence + s
            valence = _negation_check(valence, lowered, start_i, i)
            if start_i == 2 and not _IDIOM_STARTS.isdisjoint(lowered[i - 3 : i + 1]):
                valence = _special_idioms_check(valence, lowered, i)
        return self._least(valence, lowered, i)

    def _least(self, valence: float, lowered: list[str], i: int) -> float:
        if i > 1 and lowered[i - 1] not in self.lexicon and lowered[i - 1] == "least":
            if lowered[i - 2] != "at" and lowered[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and lowered[i - 1] not in self.lexicon and lowered[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence


def _words(text: str) -> tuple[list[str], list[str]]:
    """VADER's SentiText words, and each lower-cased: split on whitespace, punctuation stripped
    from each end unless that leaves two characters or fewer (an emoticon such as ":)" stays
    whole). Most tokens recur from text to text, so both steps are looked up once made."""
    words = [_word_of.get(token) or _word(token) for token in text.split()]
    return words, [_lower_of.get(word) or _lower(word) for word in words]


# Token -> its word, word -> its lower case; emptied when full, so memory stays bounded and the
# entries follow the words in use (a few thousand cover most of any language's running text).
_CACHED_WORDS = 50_000
_word_of: dict[str, str] = {}
_lower_of: dict[str, str] = {}


def _word(token: str) -> str:
    word = stripped if len(stripped := token.strip(_PUNCTUATION)) > 2 else token
    if len(_word_of) >= _CACHED_WORDS:
        _word_of.clear()
    _word_of[token] = word
    return word


def _lower(word: str) -> str:
    lower = word.lower()
    if len(_lower_of) >= _CACHED_WORDS:
        _lower_of.clear()
    _lower_of[word] = lower
    return lower


def _score_valence(sentiments: list[Sentiment], text: str) -> dict[str, float]:
    """VADER's ``score_valence``, with its sums taken in its order."""
    sum_s = float(sum(sentiments))
    ep_count = min(text.count("!"), 4)
    qm_count = text.count("?")
    qm_amplifier: float = 0
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    punct_emph_amplifier = ep_count * 0.292 + qm_amplifier
    if sum_s > 0:
        sum_s += punct_emph_amplifier
    elif sum_s < 0:
        sum_s -= punct_emph_amplifier
    compound = min(max(sum_s / math.sqrt((sum_s * sum_s) + 15), -1.0), 1.0)
    pos_sum = 0.0
    neg_sum = 0.0
    neu_count = len(sentiments)
    for sentiment_score in sentiments:
        if sentiment_score:  # most are a plain 0: VADER's neutral words
            if sentiment_score > 0:
                pos_sum += float(sentiment_score) + 1
            if sentiment_score < 0:
                neg_sum += float(sentiment_score) - 1
            neu_count -= 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += punct_emph_amplifier
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= punct_emph_amplifier
    total = pos_sum + math.fabs(neg_sum) + neu_count
    return {
        "neg": round(math.fabs(neg_sum / total), 3),
        "neu": round(math.fabs(neu_count / total), 3),
        "pos": round(math.fabs(pos_sum / total), 3),
        "compound": round(compound, 4),
    }


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
