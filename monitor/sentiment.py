"""VADER sentiment with a customer-service layer: a complaint lexicon and phrase rules.

VADER reads feelings; customers often complain in facts ("on hold for 40 minutes", "still no
refund", "package never arrived"), which VADER scores neutral. The layer adds, on VADER's own
valence scale (-4..+4):

- words from ``complaints.yaml`` merged into VADER's lexicon, so VADER's negation, intensifier,
  caps and "but" handling apply to them as to its own words;
- multi-word phrases from the same file: each matched span is replaced by one synthetic lexicon
  token, so the phrase's valence stands for the whole span ("customer care" is 0, not "care");
- phrase rules (the functions below): each hit inserts a synthetic token in front of the words
  it matched and keeps those words, so VADER still reads them too. The token is read at its
  own valence: a rule has read its own negation, so VADER's look-back must not flip it.

Matching must stay cheap (scoring with the layer runs at >= 0.8x bare VADER, see
bench/sentiment.py): each text is lower-cased once, its words are checked against the cue
words of every rule and phrase (one set intersection), and only what can fire goes into the
single regex that scans it; most texts are not scanned at all.

A brand's ``lexicon`` overrides win over all of it (multi-word keys override phrases), and
``complaints=False`` turns the layer off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import yaml
from vaderSentiment.vaderSentiment import C_INCR, SentimentIntensityAnalyzer, SentiText

from monitor.models import Label, Score

COMPLAINTS_FILE = Path(__file__).with_name("complaints.yaml")

# Synthetic tokens: letters only, so VADER's punctuation stripping leaves them whole, and a
# prefix no English word has, so real text cannot collide with them.
_RULE_TOKEN = "cxqrule{}"
_PHRASE_TOKEN = "cxqphrase{}"
_MAX_VALENCE = 4.0


# --- fragments the rules are built from -----------------------------------------------------


def _any(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


def _apos(word: str) -> str:
    """Let "can't" also match "cant" and "can’t": tweets spell the apostrophe every way."""
    return word.replace("'", "['’]?")


def _neg(*words: str) -> str:
    return _any(*(_apos(w) for w in words))


_GAP = r"(?:[\w'’]+\s+){0,3}?"  # up to three filler words, as few as possible
_NUMBER = _any(
    r"\d+(?:\.\d+)?\+?",
    r"an?",
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty",
    "thirty|forty|forty-five|fifty|sixty|ninety|several|many|few",
    r"couple(?:\s+of)?",
    r"half\s+an?",
)
_UNIT = r"(?:min(?:ute)?s?|hours?|hrs?|days?|weeks?|months?)"
_APPROX = r"(?:(?:over|more\s+than|almost|nearly|about|around|like|at\s+least|another)\s+)?"
_DURATION = _any(
    rf"{_APPROX}{_NUMBER}[\s-]*{_UNIT}",
    r"(?:hours|days|weeks|ages|forever|an\s+eternity)",
)
_WAIT = _any(
    r"wait(?:ing|ed)?",
    r"(?:on|been\s+on|put\s+on|placed\s+on|left\s+on)\s+hold",
    r"in\s+(?:the\s+|a\s+)?(?:queue|line)",
    "stuck",
    "queu(?:e|ed|ing)",
)
_SERVICE_VERB = _any(
    r"log\s*(?:in|on|into)",
    r"sign\s*(?:in|on|up|into)",
    "login",
    "connect",
    "access",
    "load",
    "open",
    "stream",
    "download",
    "install",
    "update",
    "upgrade",
    "pay",
    r"check\s*out",
    "cancel",
    "unsubscribe",
    "reset",
    "recover",
    "contact",
    "reach",
    r"get\s+(?:through|in|into|hold|a\s+hold|anyone|someone|anybody|a\s+(?:reply|response|refund)|my\s+money)",
    "print",
    "redeem",
    "activate",
    "verify",
    "submit",
    "sync",
    "track",
    "use",
    "return",
    "order",
    r"place\s+(?:an?\s+|my\s+)?order",
    r"turn\s+(?:it\s+)?on",
    "watch",
    "send",
    "receive",
    "view",
    "add",
    "fix",
    "repair",
    "call",
    "dm",
    "message",
    "email",
    "resolve",
    r"sort\s+(?:it|this|out)",
)
_NO_REPLY_NOUN = _any(
    "reply",
    "replies",
    "response",
    "responses",
    "answer",
    r"call\s*back",
    r"follow[\s-]*up",
    "word",
    "update",
    "news",
    "contact",
    "refund",
    "help",
)


# --- the phrase rules -------------------------------------------------------------------------
# Each returns regex source, matched at word boundaries against the lower-cased text (so the
# sources are written in lower case). They are kept small and separate so each can be tested
# alone with texts that must and must not fire.


def waiting() -> str:
    """A wait with a duration: "on hold for 40 minutes", "waited 2 hours", "25 minute wait"."""
    wait_then_duration = rf"{_WAIT}\s+{_GAP}(?:for\s+)?{_DURATION}"
    duration_then_wait = (
        rf"{_DURATION}\s+(?:on\s+hold|hold|wait(?:ing)?|in\s+(?:the\s+)?queue|late|delay(?:ed)?)"
    )
    stuck_state = _any(
        "out",
        "down",
        "offline",
        "pending",
        "processing",
        r"in\s+transit",
        r"out\s+for\s+delivery",
        r"delayed(?:\s+by)?",
        r"late\s+by",
    )
    stuck_for = rf"{stuck_state}[\"'”]?\s+(?:for\s+|since\s+)?{_DURATION}"
    return _any(wait_then_duration, duration_then_wait, stuck_for)


def still_no() -> str:
    """Something still missing: "still no refund", "still not fixed", "STILL waiting"."""
    missing = _neg(
        "no",
        "not(?!\\s+sure)",
        "nothing",
        "none",
        "haven't",
        "hasn't",
        "have not",
        "has not",
        "can't",
        "cannot",
        "unable",
        "don't",
        "doesn't",
        "didn't",
        "won't",
        "isn't",
        "aren't",
        "waiting",
        "down",
        "broken",
        "missing",
        "without",
    )
    return rf"still,?\s+{missing}"


def never_arrived() -> str:
    """What was due did not come: "never arrived", "haven't received", "has yet to arrive"."""
    never = _neg(
        "never",
        "not",
        "haven't",
        "hasn't",
        "have not",
        "has not",
        "didn't",
        "did not",
        "not yet",
        "yet to",
        "still not",
    )
    arrived = _any(
        r"arrived?",
        # "never received such good service" is praise
        r"rec(?:ei|ie)ved?(?!\s+(?:such|so|better|more|a\s+more|anything\s+but))",
        r"(?:got|gotten)\s+(?:my|a|any|the|it|them|back)",
        r"came(?:\s+back)?",
        r"(?:show|showed|shown|turn|turned)\s+up",
        "appeared",
        r"(?:been\s+)?(?:delivered|shipped|dispatched|despatched|refunded|credited)",
        r"heard\s+(?:back|anything|a\s+thing|from)",
        "replied",
        "responded",
        "answered",
        r"called\s+(?:me\s+)?back",
        r"got(?:ten)?\s+back",
    )
    return rf"{never}\s+(?:even\s+|yet\s+|been\s+)?{arrived}"


def where_is_my() -> str:
    """Asking after what should have come: "where is my order?", "where's my refund"."""
    thing = _any(
        "order",
        "package",
        "parcel",
        "delivery",
        "shipment",
        "refund",
        "money",
        "item",
        "items",
        "replacement",
        "food",
        "driver",
    )
    return rf"where(?:['’]?s|\s+is|\s+are|\s+the\s+hell\s+is)\s+my\s+{thing}"


def not_working() -> str:
    """Something stopped working: "not working", "won't turn on", "keeps crashing"."""
    stopped = _neg(
        "not",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "ain't",
        "no longer",
        "never",
        "stopped",
        "stops",
        "quit",
    )
    refuses = _neg(
        "doesn't",
        "does not",
        "don't",
        "do not",
        "didn't",
        "did not",
        "won't",
        "will not",
        "wouldn't",
        "can't",
        "cannot",
    )
    action = _any(
        r"work(?:s|ing)?",
        r"load(?:ing)?",
        r"open(?:ing)?",
        r"connect(?:ing)?",
        r"print(?:ing)?",
        r"install(?:ing)?",
        r"start(?:ing)?",
        r"boot(?:ing)?",
        r"(?:turn|power)(?:ing)?\s+on",
        r"charg(?:e|ing)",
        r"sync(?:ing)?",
        r"respond(?:ing)?",
        r"let\s+me",
        r"accept(?:ing)?",
        r"go\s+through",
        r"recogni[sz](?:e|ing)",
        "refund",
        "replace",
        r"hono(?:u)?r",
        "reply",
        "respond",
        "answer",
    )
    ing_action = _any(
        "loading",
        "opening",
        "connecting",
        "printing",
        "syncing",
        "updating",
        "responding",
        "charging",
        "downloading",
        "installing",
        "booting",
        r"(?:turning|powering)\s+on",
    )
    failing = _any(
        "crashing",
        "freezing",
        "failing",
        "dropping",
        "disconnecting",
        "restarting",
        "rebooting",
        "buffering",
        "lagging",
        "glitching",
        r"logging\s+(?:me\s+)?out",
        r"kicking\s+me\s+(?:out|off)",
        r"shutting\s+(?:down|off)",
        r"going\s+(?:down|off)",
    )
    return _any(
        rf"{stopped}\s+(?:even\s+|really\s+|properly\s+)?(?:be\s+)?work(?:ing|s)",
        rf"{refuses}\s+(?:seem\s+to\s+|even\s+)?(?:be\s+)?{action}",
        rf"{stopped}\s+(?:even\s+|properly\s+)?{ing_action}",
        rf"keeps?\s+(?:on\s+)?{failing}",
        r"nothing\s+(?:works|is\s+working|loads|happens)",
    )


def cannot() -> str:
    """Blocked from a service action: "can't log in", "unable to pay", "not able to cancel"."""
    blocked = _neg(
        "can't",
        "cannot",
        "can not",
        "couldn't",
        "could not",
        "unable to",
        "not able to",
        "impossible to",
        "not letting me",
        "isn't letting me",
        "won't allow me to",
    )
    # "why can't I add my account": a question puts the subject between the two.
    return rf"{blocked}\s+(?:i\s+|we\s+)?(?:even\s+|seem\s+to\s+|still\s+)?{_SERVICE_VERB}"


def no_reply() -> str:
    """Nobody answers: "no response", "nobody got back to me", "still waiting for a reply"."""
    nothing_back = r"(?:nothing|not\s+a\s+word)\s+back"
    no_noun = rf"(?:no|zero|not\s+a\s+single|not\s+one)\s+(?:\w+\s+)?{_NO_REPLY_NOUN}"
    nobody = (
        r"(?:nobody|no\s*one|noone|no\s+body)\s+(?:from\s+[\w@]+\s+)?"
        r"(?:has\s+|have\s+|had\s+|ever\s+|even\s+)?"
        r"(?:replied|responded|answered|answers|called|calls|got(?:ten)?\s+back|gets\s+back|"
        r"got\s+in\s+touch|contacted|dealt|helped|helps|came|showed|picks?\s+up|picked\s+up|"
        r"bothered)"
    )
    waiting_for_reply = (
        rf"(?:{_WAIT}\s+(?:on|for)|await(?:ing)?)\s+(?:a|an|my|your|ur|the|any)?\s*{_NO_REPLY_NOUN}"
    )
    return _any(no_noun, nobody, nothing_back, waiting_for_reply)


def days_no_reply() -> str:
    """Time passed and nothing came: "3 days and no reply", "2 weeks later, still nothing"."""
    return (
        rf"{_DURATION}(?:\s+later)?(?:\s+(?:and|&|&amp;|now)|\s*[,-])\s+(?:still\s+)?"
        rf"(?:(?:no|not\s+a)\s+{_NO_REPLY_NOUN}|nothing)"
    )


# Cue words are runs of ASCII letters ("30mins" gives "mins", "can't" gives "can" and "t"),
# cut by a byte-table translate: twice as fast as a regex findall, and the same words.
_NOT_A_LETTER = bytes(c if ord("a") <= c <= ord("z") else ord(" ") for c in range(256))


def _cue_words(lowered: str) -> list[bytes]:
    return lowered.encode().translate(_NOT_A_LETTER).split()


def _spellings(*lines: str) -> frozenset[bytes]:
    """Cue words (space-separated) as _cue_words yields them: "can't" as "can" and "cant"."""
    out: set[bytes] = set()
    for word in " ".join(lines).split():
        out |= {word.split("'")[0].encode(), word.replace("'", "").encode()}
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Rule:
    """A phrase rule: its regex, and the cue words any text it can match contains.

    A rule joins a text's scan only if the text has a word from every cue group, so most
    texts skip most rules (and many skip the scan). Cues must be necessary: a form of the
    rule without one of its cues is silently never matched.
    """

    source: Callable[[], str]
    cues: tuple[frozenset[bytes], ...]

    def may_fire(self, words: Set[bytes]) -> bool:
        return all(not words.isdisjoint(group) for group in self.cues)


_UNITS = _spellings(
    "min mins minute minutes hour hours hr hrs day days week weeks month months",
    "ages forever eternity",
)
_NEGATIONS = _spellings(
    "not never no longer stopped stops quit keep keeps nothing cannot",
    "isn't aren't wasn't weren't ain't doesn't don't didn't won't wouldn't can't",
)
_ACTIONS = _spellings(
    "work works working load loading open opening connect connecting print printing install",
    "installing start starting boot booting turn turning power powering charge charging sync",
    "syncing respond responding let accept accepting go recognise recognize recognising",
    "recognizing refund replace honor honour reply answer updating downloading crashing",
    "freezing failing dropping disconnecting restarting rebooting buffering lagging glitching",
    "logging kicking shutting going works happens loads",
)
_ARRIVALS = _spellings(
    "arrive arrived receive received recieve recieved got gotten came show showed shown turn",
    "turned appeared delivered shipped dispatched despatched refunded credited heard replied",
    "responded answered called",
)
_SERVICE_VERBS = _spellings(
    "log login logon sign signin signon signup connect access load open stream download install update upgrade pay check",
    "checkout cancel unsubscribe reset recover contact reach get print redeem activate verify",
    "submit sync track use return order place turn watch send receive view add fix repair",
    "resolve sort call dm message email",
)
_REPLIES = _spellings(
    "reply replies response responses answer call callback follow followup word update news contact",
    "refund help back replied responded answered answers called calls got gotten gets touch",
    "contacted dealt helped helps came showed pick picks picked bothered",
)

RULES: Mapping[str, Rule] = {
    "waiting": Rule(waiting, (_UNITS,)),
    "days_no_reply": Rule(days_no_reply, (_UNITS, _spellings("no nothing not"))),
    "still_no": Rule(still_no, (_spellings("still"),)),
    "never_arrived": Rule(
        never_arrived, (_spellings("never not haven't hasn't didn't yet"), _ARRIVALS)
    ),
    "where_is_my": Rule(where_is_my, (_spellings("where where's"), _spellings("my"))),
    "not_working": Rule(not_working, (_NEGATIONS, _ACTIONS)),
    "cannot": Rule(
        cannot,
        (
            _spellings("can can't cannot could couldn't unable able impossible letting allow"),
            _SERVICE_VERBS,
        ),
    ),
    "no_reply": Rule(
        no_reply,
        (
            _spellings(
                "no zero not nobody noone nothing wait waiting waited await awaiting",
                "hold queue queued queuing queueing line stuck",
            ),
            _REPLIES,
        ),
    ),
}


# --- the complaint lexicon file ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComplaintLexicon:
    """What complaints.yaml holds, validated: valences on VADER's -4..+4 scale."""

    words: Mapping[str, float]
    phrases: Mapping[str, float]
    rules: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule or phrase that fired on a text: which one, and the words it matched."""

    name: str
    text: str


def _valences(path: Path, section: str, raw: object) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: `{section}` must be a mapping of text to valence")
    out: dict[str, float] = {}
    for key, value in raw.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"{path}: {section}.{key}: valence must be a number, got {value!r}")
        if not -_MAX_VALENCE <= value <= _MAX_VALENCE:
            raise ValueError(f"{path}: {section}.{key}: valence {value} is outside -4..+4")
        out[_normal(str(key))] = float(value)
    return out


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().split())


@cache
def load_complaints(path: Path = COMPLAINTS_FILE) -> ComplaintLexicon:
    """Read and check the complaint lexicon once per process."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with words, phrases and rules")
    words = _valences(path, "words", raw.get("words"))
    phrases = _valences(path, "phrases", raw.get("phrases"))
    rules = _valences(path, "rules", raw.get("rules"))
    if bad := [w for w in words if " " in w]:
        raise ValueError(f"{path}: words.{bad[0]}: has a space; move it under `phrases`")
    if unknown := sorted(set(rules) - set(RULES)):
        known = ", ".join(RULES)
        raise ValueError(f"{path}: rules.{unknown[0]}: no such rule; the rules are {known}")
    return ComplaintLexicon(words=words, phrases=phrases, rules=rules)


# --- matching ---------------------------------------------------------------------------------


def _trie_regex(phrases: Iterable[str]) -> str:
    """One regex for many literal phrases, factored by common prefix.

    A flat alternation makes the regex engine try every phrase at every word; the trie tries
    only the branches that share the characters read so far.
    """
    trie: dict[str, dict] = {}
    for phrase in phrases:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
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


def _bounded(source: str) -> re.Pattern[str]:
    # No IGNORECASE: matching the lower-cased text is about three times faster.
    return re.compile(rf"(?<![\w'’]){source}(?![\w'’])")


_BRAND, _PHRASE = "brand_phrase", "phrase"
# Too common to gate a phrase on: a phrase is cued by its longest word not in this list.
_COMMON = _spellings(
    "a an and are been customer for goes having i is it me my never no not of on out please",
    "the this what's your",
)


def _phrase_cue(phrase: str) -> bytes:
    words = _cue_words(phrase) or [phrase.encode()]
    return max(words, key=lambda w: (w not in _COMMON, len(w)))


class _Analyzer(SentimentIntensityAnalyzer):
    """VADER that reads a rule's token at its own valence.

    A rule has already read its own negation ("never arrived", "can't log in"), so VADER's
    negation and intensifier look-back must not flip it again: in "can't log in. still no
    refund" the "can't" would otherwise turn the second complaint into praise.
    """

    rule_valences: Mapping[str, float]

    def sentiment_valence(
        self, valence: float, sentitext: SentiText, item: str, i: int, sentiments: list[float]
    ) -> list[float]:
        fixed = self.rule_valences.get(item.lower())
        if fixed is None:
            return super().sentiment_valence(valence, sentitext, item, i, sentiments)
        if item.isupper() and sentitext.is_cap_diff:
            fixed -= C_INCR
        sentiments.append(fixed)
        return sentiments


class _Engine:
    """VADER with one merged lexicon and its phrase and rule matchers, shared by Scorers.

    A text is scanned once, by one regex holding only what its words can fire: the brand's
    phrases first (so they win), then the rules in RULES order, then the default phrases.
    Where two overlap, the one starting first wins.
    """

    def __init__(
        self,
        base: SentimentIntensityAnalyzer,
        lexicon: Mapping[str, float],
        phrases: Mapping[str, float],
        brand_phrases: Mapping[str, float],
        rules: Mapping[str, float],
    ) -> None:
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
        for phrase in phrases:
            self.cue_groups.setdefault(_phrase_cue(phrase), set()).add(_PHRASE)
        self.cue_words = frozenset(self.cue_groups)
        self.rank = {name: i for i, name in enumerate([*self.rules, _PHRASE])}
        self.sources: dict[str, str] = {name: rule.source() for name, rule in self.rules.items()}
        if brand_phrases:
            self.sources[_BRAND] = _trie_regex(brand_phrases)
        if phrases:
            self.sources[_PHRASE] = _trie_regex(phrases)
        self.patterns: dict[tuple[str, ...], re.Pattern[str]] = {}
        self.analyzer = base
        if merged != base.lexicon:
            # A shallow copy: the emoji table and the lexicon file text stay shared.
            self.analyzer = SentimentIntensityAnalyzer.__new__(SentimentIntensityAnalyzer)
            self.analyzer.__dict__.update(base.__dict__)
            self.analyzer.lexicon = merged
        # Only texts a rule fired on pay for the subclass's extra call per word.
        self.rule_analyzer = _Analyzer.__new__(_Analyzer)
        self.rule_analyzer.__dict__.update(self.analyzer.__dict__)
        self.rule_analyzer.rule_valences = {self.rule_tokens[n]: v for n, v in rules.items()}

    def _pattern(self, names: tuple[str, ...]) -> re.Pattern[str]:
        pattern = self.patterns.get(names)
        if pattern is None:
            groups = (f"(?P<{name}>{self.sources[name]})" for name in names)
            pattern = self.patterns[names] = _bounded(_any(*groups))
        return pattern

    def _matches(self, lowered: str) -> Iterator[re.Match[str]]:
        if not self.sources:
            return iter(())
        names = [_BRAND] if _BRAND in self.sources else []
        cued = self.cue_words.intersection(_cue_words(lowered))
        if cued:
            candidates: set[str] = set()
            for word in cued:
                candidates |= self.cue_groups[word]
            for name in sorted(candidates, key=self.rank.__getitem__):
                if name == _PHRASE or self.rules[name].may_fire(cued):
                    names.append(name)
        return self._pattern(tuple(names)).finditer(lowered) if names else iter(())

    @staticmethod
    def _lowered(text: str) -> tuple[str, str]:
        lowered = text.lower()
        # A few characters ("İ") lower-case to two, which would shift every match; such a
        # text is read lower-cased, losing only VADER's caps emphasis.
        return (text if len(lowered) == len(text) else lowered), lowered

    def polarity(self, text: str) -> dict[str, float]:
        rewritten, ruled = self._rewrite(text)
        analyzer = self.rule_analyzer if ruled else self.analyzer
        return analyzer.polarity_scores(rewritten)

    def rewrite(self, text: str) -> str:
        """The text VADER reads: rule tokens inserted, phrases swapped for their tokens."""
        return self._rewrite(text)[0]

    def _rewrite(self, text: str) -> tuple[str, bool]:
        text, lowered = self._lowered(text)
        pieces: list[str] = []
        done = 0
        ruled = False
        for m in self._matches(lowered):
            start, end = m.span()
            name = m.lastgroup or ""
            if name in (_BRAND, _PHRASE):
                token, resume = self.phrase_tokens[_normal(m.group())], end
            else:
                # A rule adds its token and keeps the words, so VADER still reads them.
                token, resume, ruled = self.rule_tokens[name], start, True
            # An all-caps complaint ("NEVER GOT A CALL BACK") keeps VADER's caps emphasis.
            token = token.upper() if text[start:end].isupper() else token
            pieces += [text[done:start], f" {token} "]
            done = resume
        return ("".join([*pieces, text[done:]]) if pieces else text), ruled

    def hits(self, text: str) -> list[Hit]:
        text, lowered = self._lowered(text)
        found = []
        for m in self._matches(lowered):
            name = m.lastgroup or ""
            if name in (_BRAND, _PHRASE):
                name = _normal(m.group())
            found.append(Hit(name, text[m.start() : m.end()]))
        return found


@cache
def _base_analyzer() -> SentimentIntensityAnalyzer:
    """Loading VADER's lexicon takes ~0.1s, so the process builds it once."""
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=256)
def _engine(complaints: bool, overrides: tuple[tuple[str, float], ...]) -> _Engine:
    """One engine per distinct (switch, override set): a mention never rebuilds a lexicon."""
    defaults = load_complaints() if complaints else ComplaintLexicon({}, {}, {})
    words = {**defaults.words, **{k: v for k, v in overrides if " " not in k}}
    brand_phrases = {k: v for k, v in overrides if " " in k}
    return _Engine(_base_analyzer(), words, defaults.phrases, brand_phrases, defaults.rules)


class Scorer:
    """Scores text for one brand: VADER, the complaint layer, and that brand's overrides."""

    def __init__(
        self,
        lexicon: Mapping[str, float] | None = None,
        negative: float = -0.05,
        positive: float = 0.05,
        complaints: bool = True,
    ) -> None:
        if negative > positive:
            raise ValueError("the negative threshold must not be above the positive one")
        self.negative = negative
        self.positive = positive
        overrides = tuple(sorted((_normal(k), float(v)) for k, v in (lexicon or {}).items()))
        self._engine = _engine(complaints, overrides)

    @property
    def analyzer(self) -> SentimentIntensityAnalyzer:
        return self._engine.analyzer

    def label(self, compound: float) -> Label:
        if compound <= self.negative:
            return "negative"
        if compound >= self.positive:
            return "positive"
        return "neutral"

    def score(self, text: str) -> Score:
        s = self._engine.polarity(text)
        return Score(
            compound=s["compound"],
            pos=s["pos"],
            neu=s["neu"],
            neg=s["neg"],
            label=self.label(s["compound"]),
        )

    def hits(self, text: str) -> list[Hit]:
        """Which complaint rules and phrases fired on the text: to explain a score."""
        return self._engine.hits(text)
