"""Matching the complaint layer against a text and rewriting it for VADER to read.

Matching must stay cheap: each text is lower-cased once, its words are checked against the cue
words of every rule and phrase (one set intersection), and only what can fire goes into the
single regex that scans it; most texts are not scanned at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, reduce
from operator import or_
from typing import NamedTuple

from monitor.sentiment.fragments import any_of, cue_words, spellings
from monitor.sentiment.hashtags import HashtagSegmenter
from monitor.sentiment.lexicon import normal
from monitor.sentiment.rules import RULES
from monitor.sentiment.vader import Vader

# A phrase trie: each character leads to the trie of what may follow; "" marks a phrase end.
Trie = dict[str, "Trie"]

# Synthetic tokens: letters only, so VADER's punctuation stripping leaves them whole, and a
# prefix no English word has, so real text cannot collide with them.
_RULE_TOKEN = "cxqrule{}"
_PHRASE_TOKEN = "cxqphrase{}"
_EMOJI_TOKEN = "cxqemoji{}"
# Two words joined by a slash, not part of a URL or a path.
_SLASHED = re.compile(r"(?<![\w./:])([A-Za-z]{2,})/([A-Za-z]{2,})(?![\w/])")
# What every _SLASHED match contains. A pattern led by a look-behind is tried at every
# position; this one starts with a character class, which the regex engine skips to.
_LETTER_SLASH_LETTER = re.compile(r"[A-Za-z]/[A-Za-z]")


class Plan(NamedTuple):
    """What a text's cue words call for: the groups to scan it with, in rank order, and
    whether it has a strongly negative word."""

    scan: tuple[str, ...]
    negative: bool


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule or phrase that fired on a text: which one, and the words it matched."""

    name: str
    text: str


def _trie_regex(phrases: Iterable[str]) -> str:
    """One regex for many literal phrases, factored by common prefix.

    A flat alternation makes the regex engine try every phrase at every word; the trie tries
    only the branches that share the characters read so far.
    """
    trie: Trie = {}
    for phrase in phrases:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: Trie) -> str:
        branches = [
            (r"\s+" if char == " " else re.escape(char)) + emit(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?"
        return body

    return emit(trie)


@cache
def _bounded(source: str) -> re.Pattern[str]:
    """Compiled once per process per source: compiling every rule takes ~60 ms.

    Each rule has its own pattern, rather than one per combination of rules a text may fire,
    so the process compiles a dozen patterns instead of one per combination seen (~1 s).
    """
    # No IGNORECASE: matching the lower-cased text is about three times faster.
    return re.compile(rf"(?<![\w'’]){source}(?![\w'’])")


BRAND, PHRASE, NEGATIVE = "brand_phrase", "phrase", "negative_word"
_MAX_PLANS = 50_000
_NEGATIVE_WORD = -1.5
# Too common to gate a phrase on: a phrase is cued by its longest word not in this list.
_COMMON = spellings(
    "a an and are been customer for goes having i is it me my never no not of on out please",
    "the this what's your with still without since around",
)


def _phrase_cue(phrase: str) -> bytes:
    words = cue_words(phrase) or [phrase.encode()]
    return max(words, key=lambda w: (w not in _COMMON, len(w)))


class Engine:
    """VADER with one merged lexicon and its phrase and rule matchers, shared by Scorers.

    A text is scanned only by the patterns its words can fire, as one alternation of them
    would scan it: where two overlap the one starting first wins, and at the same start the
    brand's phrases, then the rules in RULES order, then the default phrases.
    """

    def __init__(
        self,
        base: Vader,
        lexicon: Mapping[str, float],
        phrases: Mapping[str, float],
        brand_phrases: Mapping[str, float],
        rules: Mapping[str, float],
        origins: Mapping[str, str] | None = None,
        emoji: Mapping[str, float] | None = None,
        hashtag_words: frozenset[str] = frozenset(),
        courtesy: frozenset[str] = frozenset(),
        brand_words: frozenset[str] = frozenset(),
    ) -> None:
        # Where each word or phrase of the layer and the brand came from, to explain a score.
        self.origins: Mapping[str, str] = origins or {}
        merged = dict(base.lexicon)
        merged.update(lexicon)
        phrases = {k: v for k, v in phrases.items() if k not in brand_phrases}
        self.phrase_tokens: dict[str, str] = {}
        for i, (phrase, valence) in enumerate(sorted({**phrases, **brand_phrases}.items())):
            self.phrase_tokens[phrase] = _PHRASE_TOKEN.format(i)
            merged[_PHRASE_TOKEN.format(i)] = valence
        self.rule_tokens = {name: _RULE_TOKEN.format(name.replace("_", "")) for name in rules}
        self.rules = {name: rule for name, rule in RULES.items() if name in rules}
        # Which groups a text may need, by cue word: one set intersection finds the candidates.
        self.cue_groups: dict[bytes, set[str]] = {}
        for name, rule in self.rules.items():
            for word in frozenset().union(*rule.cues):
                self.cue_groups.setdefault(word, set()).add(name)
        # A phrase is cued by one word, then needs all of its words: "fed up with" is looked
        # for only in texts with "fed", and scanned for only in those with "up" and "with" too.
        self.phrase_needs: dict[bytes, list[frozenset[bytes]]] = {}
        for phrase in phrases:
            cue = _phrase_cue(phrase)
            self.cue_groups.setdefault(cue, set()).add(PHRASE)
            self.phrase_needs.setdefault(cue, []).append(frozenset(cue_words(phrase)))
        # Strongly negative words also mark a text as a complaint (see ``reading``).
        for word, valence in {**base.lexicon, **lexicon}.items() if courtesy and rules else ():
            if valence <= _NEGATIVE_WORD and word.isascii() and word.isalpha():
                self.cue_groups.setdefault(word.encode(), set()).add(NEGATIVE)
        self.cue_words = frozenset(self.cue_groups)
        self._cue_bits, self._group_bits = self._cue_masks()
        # Plans by the text's cue words (both with and without phrases, which need a check of
        # all their words), and by the cue groups those fill.
        self._plans: dict[frozenset[bytes], tuple[Plan, Plan]] = {}
        self._plan_by_bits: dict[int, Plan] = {}
        self._phrase_bit = self._group_bits[PHRASE]
        self.rank = {name: i for i, name in enumerate([BRAND, *self.rules, PHRASE])}
        self.sources: dict[str, str] = {name: rule.source() for name, rule in self.rules.items()}
        if brand_phrases:
            self.sources[BRAND] = _trie_regex(brand_phrases)
        if phrases:
            self.sources[PHRASE] = _trie_regex(phrases)
        self.patterns = {name: _bounded(source) for name, source in self.sources.items()}
        self._no_cues = self._plan(0)
        # VADER turns each emoji into its description; ours become one token with a valence.
        self.emoji_tokens = {e: _EMOJI_TOKEN.format(i) for i, e in enumerate(sorted(emoji or {}))}
        merged.update((self.emoji_tokens[e], v) for e, v in (emoji or {}).items())
        self.segmenter = HashtagSegmenter(merged, hashtag_words) if hashtag_words else None
        rule_valences = {self.rule_tokens[n]: v for n, v in rules.items()}
        self.analyzer = base
        if merged != base.lexicon or rule_valences:
            # A shallow copy: the lexicon file text stays shared.
            self.analyzer = Vader.__new__(Vader)
            self.analyzer.__dict__.update(base.__dict__)
            self.analyzer.lexicon = merged
            self.analyzer.rule_valences = rule_valences
            if self.emoji_tokens:
                self.analyzer.emojis = {**base.emojis, **self.emoji_tokens}
        self.complaint_analyzer = self.analyzer
        if courtesy and rules:
            self.complaint_analyzer = Vader.__new__(Vader)
            self.complaint_analyzer.__dict__.update(self.analyzer.__dict__)
            self.complaint_analyzer.lexicon = {
                k: v for k, v in merged.items() if k not in courtesy or k in brand_words
            }

    def combined(self) -> re.Pattern[str]:
        """Every group in one regex: what the gated scan in ``_matches`` must find, ungated."""
        names = sorted(self.sources, key=self.rank.__getitem__)
        groups = (f"(?P<{name}>{self.sources[name]})" for name in names)
        return _bounded(any_of(*groups))

    def _cue_masks(self) -> tuple[dict[bytes, int], dict[str, int]]:
        """One bit per cue group of each rule (and one for phrases, one for negative words).

        A text's cue words OR together into one int; a rule is a candidate when its groups'
        bits are all set. The plan is worked out once per distinct set of cue words.
        """
        word_bits: dict[bytes, int] = dict.fromkeys(self.cue_groups, 0)
        group_bits: dict[str, int] = {}
        bit = 1
        for name, rule in self.rules.items():
            group_bits[name] = 0
            for group in rule.cues:
                for word in group:
                    word_bits[word] |= bit
                group_bits[name] |= bit
                bit <<= 1
        for special in (PHRASE, NEGATIVE):
            group_bits[special] = bit
            for word, names in self.cue_groups.items():
                if special in names:
                    word_bits[word] |= bit
            bit <<= 1
        return word_bits, group_bits

    def _plan(self, filled: int) -> Plan:
        """The plan for a set of filled cue groups: one object per set, shared."""
        if (plan := self._plan_by_bits.get(filled)) is not None:
            return plan
        scan = [BRAND] if BRAND in self.sources else []
        for name in sorted(self.rank, key=self.rank.__getitem__):
            bits = self._group_bits.get(name)
            if bits is not None and filled & bits == bits:
                scan.append(name)
        plan = Plan(tuple(scan), bool(filled & self._group_bits[NEGATIVE]))
        if len(self._plan_by_bits) < _MAX_PLANS:
            self._plan_by_bits[filled] = plan
        return plan

    def _has_phrase_words(self, cued: Iterable[bytes], words: frozenset[bytes]) -> bool:
        """Whether the text has every word of some phrase its cue words point to."""
        return any(needs <= words for cue in cued for needs in self.phrase_needs.get(cue, ()))

    def _candidates(self, lowered: str) -> Plan:
        """The groups whose cue words are all in the text, and whether it has a negative word."""
        cued = self.cue_words.intersection(words := cue_words(lowered))
        if not cued:
            return self._no_cues
        # A few thousand distinct sets of cue words in practice; capped so a stream of odd
        # texts cannot grow it without bound.
        plans = self._plans.get(cued)
        if plans is None:
            filled = reduce(or_, map(self._cue_bits.__getitem__, cued), 0)
            plans = (self._plan(filled & ~self._phrase_bit), self._plan(filled))
            if len(self._plans) < _MAX_PLANS:
                self._plans[cued] = plans
        without, with_phrases = plans
        if without is with_phrases or not self._has_phrase_words(cued, frozenset(words)):
            return without
        return with_phrases

    def _matches(
        self, lowered: str, names: Sequence[str] | None = None
    ) -> Iterator[tuple[str, re.Match[str]]]:
        """(group, match) left to right, as one alternation of the candidates would find them.

        At each point the leftmost match wins and, at the same start, the earlier group; the
        scan resumes where the winner ended. Each group keeps its next match until the scan
        passes its start, so a text with one hit costs one search per candidate.
        """
        if names is None:
            names = self._candidates(lowered).scan
        if not names:
            return
        patterns = [self.patterns[name] for name in names]
        upcoming = [pattern.search(lowered) for pattern in patterns]
        pos = 0
        while True:
            best, winner = 0, None
            for k, m in enumerate(upcoming):
                if m is not None and m.start() < pos:
                    m = upcoming[k] = patterns[k].search(lowered, pos)
                if m is not None and (winner is None or m.start() < winner.start()):
                    best, winner = k, m
            if winner is None:
                return
            yield names[best], winner
            pos = max(winner.end(), winner.start() + 1)

    def _split_words(self, text: str) -> str:
        """Hashtags split into words; "rude/slow" split, since VADER splits on spaces only."""
        if self.segmenter is None:
            return text
        if "#" in text:
            text = self.segmenter.split_all(text)
        if "/" in text and _LETTER_SLASH_LETTER.search(text):
            return _SLASHED.sub(r"\1 / \2", text)
        return text

    @staticmethod
    def _lowered(text: str) -> tuple[str, str]:
        lowered = text.lower()
        # A few characters ("İ") lower-case to two, which would shift every match; such a
        # text is read lower-cased, losing only VADER's caps emphasis.
        return (text if len(lowered) == len(text) else lowered), lowered

    def polarity(self, text: str) -> dict[str, float]:
        rewritten, analyzer = self.reading(text)
        return analyzer.polarity_scores(rewritten)

    def rewrite(self, text: str) -> str:
        """The text VADER reads: rule tokens inserted, phrases swapped for their tokens."""
        return self.reading(text)[0]

    def reading(self, text: str) -> tuple[str, Vader]:
        """The text VADER reads, and the analyzer that reads it.

        Once a rule, a negative phrase or a strongly negative word has found a complaint, the
        courtesy around it ("thanks", "please help", "hi") is politeness, not praise: such a
        text is read without those words.
        """
        text, lowered = self._lowered(self._split_words(text))
        pieces: list[str] = []
        done = 0
        plan = self._candidates(lowered)
        analyzer = self.complaint_analyzer if plan.negative else self.analyzer
        if not plan.scan:
            return text, analyzer
        for name, m in self._matches(lowered, plan.scan):
            start, end = m.span()
            if name in (BRAND, PHRASE):
                token, resume = self.phrase_tokens[normal(m.group())], end
                if self.analyzer.lexicon[token] < 0:
                    analyzer = self.complaint_analyzer
            else:
                # A rule adds its token and keeps the words, so VADER still reads them, unless
                # the words are what the rule corrects (sarcastic praise).
                token = self.rule_tokens[name]
                resume = end if self.rules[name].replaces else start
                analyzer = self.complaint_analyzer
            # An all-caps complaint ("NEVER GOT A CALL BACK") keeps VADER's caps emphasis.
            token = token.upper() if text[start:end].isupper() else token
            pieces += [text[done:start], f" {token} "]
            done = resume
        return ("".join([*pieces, text[done:]]) if pieces else text), analyzer

    def token_names(self) -> dict[str, str]:
        """Rule and phrase tokens -> the rule name or phrase each stands for (one hit each)."""
        names = {token: name for name, token in self.rule_tokens.items()}
        names.update((token, phrase) for phrase, token in self.phrase_tokens.items())
        return names

    def hits(self, text: str) -> list[Hit]:
        text, lowered = self._lowered(self._split_words(text))
        found = []
        for name, m in self._matches(lowered):
            if name in (BRAND, PHRASE):
                name = normal(m.group())
            found.append(Hit(name, text[m.start() : m.end()]))
        return found
