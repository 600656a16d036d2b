"""Regex fragments the phrase rules are built from, and the cue words that gate them.

Every source here is matched against lower-cased text, so it is written in lower case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def any_of(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


def apos(word: str) -> str:
    """Let "can't" also match "cant" and "can’t": tweets spell the apostrophe every way."""
    return word.replace("'", "['’]?")


def neg_any(*words: str) -> str:
    return any_of(*(apos(w) for w in words))


GAP = r"(?:[\w'’]+\s+){0,3}?"  # up to three filler words, as few as possible
NUMBER = any_of(
    r"\d+(?:\.\d+)?\+?",
    r"an?",
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty",
    "thirty|forty|forty-five|fifty|sixty|ninety|several|many|few",
    r"couple(?:\s+of)?",
    r"half\s+an?",
)
UNIT = r"(?:min(?:ute)?s?|hours?|hrs?|days?|weeks?|months?)"
APPROX = r"(?:(?:over|more\s+than|almost|nearly|about|around|like|at\s+least|another)\s+)?"
DURATION = any_of(
    rf"{APPROX}{NUMBER}[\s-]*{UNIT}",
    rf"another\s+{UNIT}",
    r"(?:hours|days|weeks|ages|forever|an\s+eternity)",
)
WAIT = any_of(
    r"wait(?:ing|ed)?",
    r"(?:on|been\s+on|put\s+on|placed\s+on|left\s+on)\s+hold",
    r"in\s+(?:the\s+|a\s+)?(?:queue|line)",
    "stuck",
    "queu(?:e|ed|ing)",
)
SERVICE_VERB = any_of(
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
    "find",
    r"get\s+(?:it|this|that|them|the\s+\w+)\s+(?:to\s+)?(?:work|working|on|back|fixed|sorted)",
)
NO_REPLY_NOUN = any_of(
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


# Cue words are runs of ASCII letters ("30mins" gives "mins", "can't" gives "can" and "t"),
# cut by a byte-table translate: twice as fast as a regex findall, and the same words.
_NOT_A_LETTER = bytes(c if ord("a") <= c <= ord("z") else ord(" ") for c in range(256))


def cue_words(lowered: str) -> list[bytes]:
    return lowered.encode().translate(_NOT_A_LETTER).split()


def spellings(*lines: str) -> frozenset[bytes]:
    """Cue words (space-separated) as cue_words yields them: "can't" as "can" and "cant"."""
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
    # The token replaces the words matched instead of standing before them: for praise that
    # is sarcasm ("great job losing my parcel"), the praise must not count.
    replaces: bool = False
