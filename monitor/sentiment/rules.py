"""The phrase rules: regex sources for complaints stated as facts, each with its cue words.

Each rule returns regex source, matched at word boundaries against the lower-cased text. They
are kept small and separate so each can be tested alone with texts that must and must not fire.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.sentiment.fragments import (
    DURATION,
    GAP,
    NO_REPLY_NOUN,
    SERVICE_VERB,
    WAIT,
    Rule,
    any_of,
    neg_any,
    spellings,
)
from monitor.sentiment.tone import (
    ACCEPTABLE_CUES,
    AGAIN_CUES,
    CHASING_CUES,
    FAILURE_CUES,
    PRAISE_CUES,
    PROMISE_CUES,
    WHY_CUES,
    acceptable_question,
    again,
    broken_promise,
    chasing,
    sarcasm,
    why_question,
)


def waiting() -> str:
    """A wait with a duration: "on hold for 40 minutes", "waited 2 hours", "25 minute wait"."""
    wait_then_duration = rf"{WAIT}\s+{GAP}(?:for\s+)?{DURATION}"
    duration_then_wait = (
        rf"{DURATION}\s+(?:on\s+hold|hold|wait(?:ing)?|in\s+(?:the\s+)?queue|late|delay(?:ed)?)"
    )
    stuck_state = any_of(
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
    stuck_for = rf"{stuck_state}[\"'”]?\s+(?:for\s+|since\s+)?{DURATION}"
    day = any_of(
        "monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|last\\s+\\w+",
        r"this\s+(?:morning|week|month)|early\s+\w+|\d{1,2}(?:[:./]\d{1,2})*(?:\s*[ap]m)?",
    )
    wait_since = rf"{WAIT}\s+(?:here\s+|now\s+|patiently\s+)?since\s+{day}"
    return any_of(wait_then_duration, duration_then_wait, stuck_for, wait_since)


def still_no() -> str:
    """Something still missing: "still no refund", "still not fixed", "STILL waiting"."""
    missing = neg_any(
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
    never = neg_any(
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
    arrived = any_of(
        r"arrived?",
        # "never received such good service" is praise
        r"rec(?:ei|ie)ved?(?!\s+(?:such|so|better|more|a\s+more|anything\s+but))",
        r"(?:got|gotten)\s+(?:my|a|any|the|it|them|back)",
        r"came(?:\s+back)?",
        r"(?:show|showed|shown|turn|turned)\s+up",
        r"showed(?!\s+(?:me|us|him|her|them|how|that|what))",
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
    thing = any_of(
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
        "update",
        "reply",
        "response",
        "technician",
        "engineer",
        "callback",
    )
    return rf"where(?:['’]?s|\s+is|\s+are|\s+the\s+hell\s+is)\s+(?:my|our)\s+{thing}"


def not_working() -> str:
    """Something stopped working: "not working", "won't turn on", "keeps crashing"."""
    stopped = neg_any(
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
    refuses = neg_any(
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
    action = any_of(
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
    ing_action = any_of(
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
    failing = any_of(
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
    return any_of(
        rf"{stopped}\s+(?:even\s+|really\s+|properly\s+)?(?:be\s+)?work(?:ing|s)",
        rf"{refuses}\s+(?:seem\s+to\s+|even\s+)?(?:be\s+)?{action}",
        rf"{stopped}\s+(?:even\s+|properly\s+)?{ing_action}",
        rf"keeps?\s+(?:on\s+)?{failing}",
        r"nothing\s+(?:works|is\s+working|loads|happens)",
    )


def cannot() -> str:
    """Blocked from a service action: "can't log in", "unable to pay", "not able to cancel"."""
    blocked = neg_any(
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
    return rf"{blocked}\s+(?:i\s+|we\s+)?(?:even\s+|seem\s+to\s+|still\s+)?{SERVICE_VERB}"


def no_reply() -> str:
    """Nobody answers: "no response", "nobody got back to me", "still waiting for a reply"."""
    nothing_back = r"(?:nothing|not\s+a\s+word)\s+back"
    no_noun = rf"(?:no|zero|not\s+a\s+single|not\s+one)\s+(?:\w+\s+)?{NO_REPLY_NOUN}"
    nobody = (
        r"(?:nobody|no\s*one|noone|no\s+body)\s+(?:from\s+[\w@]+\s+)?"
        r"(?:has\s+|have\s+|had\s+|ever\s+|even\s+)?"
        r"(?:replied|responded|answered|answers|called|calls|got(?:ten)?\s+back|gets\s+back|"
        r"got\s+in\s+touch|contacted|dealt|helped|helps|came|showed|picks?\s+up|picked\s+up|"
        r"bothered)"
    )
    waiting_for_reply = (
        rf"(?:{WAIT}\s+(?:on|for)|await(?:ing)?)\s+(?:a|an|my|your|ur|the|any)?\s*{NO_REPLY_NOUN}"
    )
    return any_of(no_noun, nobody, nothing_back, waiting_for_reply)


def days_no_reply() -> str:
    """Time passed and nothing came: "3 days and no reply", "2 weeks later, still nothing"."""
    return (
        rf"{DURATION}(?:\s+later)?(?:\s+(?:and|&|&amp;|now)|\s*[,-])\s+(?:still\s+)?"
        rf"(?:(?:no|not\s+a)\s+{NO_REPLY_NOUN}|nothing)"
    )


# Cue words are runs of ASCII letters ("30mins" gives "mins", "can't" gives "can" and "t"),


_UNITS = spellings(
    "min mins minute minutes hour hours hr hrs day days week weeks month months",
    "ages forever eternity",
)
_NEGATIONS = spellings(
    "not never no longer stopped stops quit keep keeps nothing cannot",
    "isn't aren't wasn't weren't ain't doesn't don't didn't won't wouldn't can't",
)
_ACTIONS = spellings(
    "work works working load loading open opening connect connecting print printing install",
    "installing start starting boot booting turn turning power powering charge charging sync",
    "syncing respond responding let accept accepting go recognise recognize recognising",
    "recognizing refund replace honor honour reply answer updating downloading crashing",
    "freezing failing dropping disconnecting restarting rebooting buffering lagging glitching",
    "logging kicking shutting going works happens loads",
)
_ARRIVALS = spellings(
    "arrive arrived receive received recieve recieved got gotten came show showed shown turn",
    "turned appeared delivered shipped dispatched despatched refunded credited heard replied",
    "responded answered called",
)
_SERVICE_VERBS = spellings(
    "log login logon sign signin signon signup connect access load open stream download install update upgrade pay check",
    "checkout cancel unsubscribe reset recover contact reach get print redeem activate verify",
    "submit sync track use return order place turn watch send receive view add fix repair",
    "resolve sort call dm message email find",
)
_REPLIES = spellings(
    "reply replies response responses answer call callback follow followup word update news contact",
    "refund help back replied responded answered answers called calls got gotten gets touch",
    "contacted dealt helped helps came showed pick picks picked bothered",
)

# Every form of "waiting" has a wait or a stuck state beside its duration (or its "since").
_WAITS = spellings(
    "wait waiting waited hold queue queued queuing line stuck late delay delayed",
    "out down offline pending processing transit delivery",
)

RULES: Mapping[str, Rule] = {
    "waiting": Rule(waiting, (_UNITS | spellings("since"), _WAITS)),
    "days_no_reply": Rule(days_no_reply, (_UNITS, spellings("no nothing not"))),
    "still_no": Rule(still_no, (spellings("still"),)),
    "never_arrived": Rule(
        never_arrived, (spellings("never not haven't hasn't didn't yet"), _ARRIVALS)
    ),
    "where_is_my": Rule(where_is_my, (spellings("where where's"), spellings("my our"))),
    "not_working": Rule(not_working, (_NEGATIONS, _ACTIONS)),
    "cannot": Rule(
        cannot,
        (
            spellings("can can't cannot could couldn't unable able impossible letting allow"),
            _SERVICE_VERBS,
        ),
    ),
    "no_reply": Rule(
        no_reply,
        (
            spellings(
                "no zero not nobody noone nothing wait waiting waited await awaiting",
                "hold queue queued queuing queueing line stuck",
            ),
            _REPLIES,
        ),
    ),
    "sarcasm": Rule(sarcasm, (PRAISE_CUES, FAILURE_CUES), replaces=True),
    "chasing": Rule(chasing, CHASING_CUES),
    "again": Rule(again, AGAIN_CUES),
    "why_question": Rule(why_question, WHY_CUES),
    "broken_promise": Rule(broken_promise, (PROMISE_CUES,)),
    "acceptable_question": Rule(
        acceptable_question, (spellings("how"), ACCEPTABLE_CUES), replaces=True
    ),
}
