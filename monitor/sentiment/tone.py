"""Phrase rules for how a complaint is said rather than what failed.

Sarcastic thanks and praise, chasing an answer, saying it happened again, and rhetorical
"why" / "how is this acceptable" questions. Like the rules in ``rules.py`` each returns regex
source matched at word boundaries against the lower-cased text.
"""

from __future__ import annotations

from monitor.sentiment.fragments import NUMBER, any_of, apos, neg_any, spellings

_PRAISE = any_of(
    r"thanks?(?:\s+(?:a\s+lot|so\s+much|again|a\s+bunch))?",
    r"thank\s+(?:you|u)(?:\s+(?:so\s+much|again))?",
    "thx",
    r"(?:great|good|nice|brilliant|fantastic|amazing|awesome|excellent|wonderful|superb)\s+"
    r"(?:job|work|going)",
    r"well\s+done",
    r"way\s+to\s+go",
    r"(?:i\s+|gotta\s+|got\s+to\s+|just\s+|really\s+|don['’]?t\s+you\s+)?(?:love|loving)"
    r"(?:\s+(?:how|that|when|it\s+when))?",
    r"nothing\s+like",
    r"so\s+glad",
    r"very\s+nice",
    "brilliant",
)
_FAILURE = any_of(
    r"los(?:ing|t)",
    r"ignor(?:ing|ed)",
    "wasting",
    r"break(?:ing)?",
    r"cancel+(?:ing|ed)",
    r"(?:over)?charging",
    r"hang(?:ing|s)?\s+up",
    r"hung\s+up",
    "leaving",
    r"keeping\s+(?:me|us)\s+(?:waiting|on\s+hold)",
    r"making\s+(?:me|us)\s+wait",
    "waiting",
    r"being\s+(?:on\s+hold|ignored|charged|overcharged|lied\s+to|hung\s+up\s+on|left)",
    r"(?:placed|put|left|placing|putting)\s+(?:me\s+|us\s+)?on\s+hold",
    r"sending\s+(?:me\s+|us\s+)?(?:a\s+|an\s+|the\s+|my\s+)?(?:wrong|broken|damaged|ripped|torn|"
    r"used|empty|expired|cold|half)",
    "ruining",
    "delaying",
    r"the\s+run\s*around",
    r"(?:messing|screwing)\s+up",
    "forgetting",
    r"doing\s+nothing",
)


def sarcasm() -> str:
    """Praise for a failure: "thanks for ignoring me", "great job losing my parcel",
    "I love waiting on hold", "love when @acme hangs up on you".

    Only the praise is matched (the failure is a lookahead): the rule's token replaces it.
    """
    between = r"(?:[\s,!.]+(?:(?:for|4|you\s+for|u\s+for)\s+)?(?:[@\w'’]+\s+){0,2}?)"
    return rf"{_PRAISE}(?={between}{_FAILURE}(?![\w'’]))"


def chasing() -> str:
    """Chasing an answer: "please respond", "any update?", "when will I get my refund"."""
    please = any_of("please", "pls", "plz", "kindly")
    act = any_of(
        "reply",
        "respond",
        "answer",
        r"get\s+back",
        r"call\s+(?:me\s+|us\s+)?back",
        r"look\s+into",
        "escalate",
        "resolve",
        r"refund\s+(?:me|my)",
        "explain",
        r"check\s+(?:my|your)\s+(?:dm|dms|inbox|messages?|email)",
        r"read\s+my",
    )
    news = any_of("update", "updates", "news", "answer", "response", "reply", "word", "progress")
    any_news = rf"any\s+{news}(?:\s+(?:yet|please|pls|on\s+(?:this|my)|about\s+my)|\s*\?)"
    when = (
        r"when\s+(?:will|can|should|do|am)\s+(?:i|we)\s+(?:(?:ever|finally|actually)\s+)?"
        r"(?:get|expect|hear|receive|be\s+(?:refunded|contacted|getting))"
    )
    status = r"(?:a\s+|any\s+)?status\s+(?:on|of|update\s+on)\s+(?:my\s+|the\s+)?(?:refund|order|claim|case|complaint|repair|replacement|return)"
    return any_of(
        rf"{please}\s+(?:just\s+|can\s+you\s+|could\s+you\s+)?{act}", any_news, when, status
    )


def again() -> str:
    """It happened before: "second time this week", "called five times", "charged twice"."""
    nth = any_of(
        "second|third|fourth|fifth|sixth|seventh|tenth|umpteenth|nth|another",
        r"\d+(?:st|nd|rd|th)",
    )
    nth_time = rf"{nth}\s+(?:time|attempt|call|email|complaint|replacement|visit)(?!\s+lucky)"
    tried = any_of(
        "called",
        "emailed",
        "e-mailed",
        "contacted",
        "messaged",
        "tweeted",
        r"dm['’]?(?:e)?d",
        "rang",
        "phoned",
        "tried",
        "asked",
        "chased",
        "complained",
        "visited",
        "wrote",
        r"(?:been|was)\s+told",
    )
    many = any_of(NUMBER, "several", "multiple", "countless", "numerous", r"so\s+many")
    tried_times = rf"{tried}\s+(?:[@\w'’]+\s+){{0,3}}?{many}\s+times"
    failed = any_of(
        "crashed",
        "froze",
        "died",
        "failed",
        r"broke(?:\s+down)?",
        "disconnected",
        "dropped",
        r"logged\s+(?:me\s+)?out",
        r"kicked\s+(?:me\s+)?(?:out|off)",
        "cancel+ed",
        "delayed",
        r"went\s+(?:down|out|off)",
    )
    failed_again = rf"{failed}\s+(?:on\s+(?:me|us)\s+)?(?:yet\s+)?(?:again|twice)"
    charged = rf"charged\s+(?:me\s+|us\s+)?(?:twice|double|again|two\s+times|{NUMBER}\s+times)"
    return any_of(nth_time, tried_times, failed_again, charged)


def why_question() -> str:
    """A question that is a complaint: "why can't you...", "how is this acceptable?"."""
    not_ = neg_any(
        "can't",
        "cannot",
        "won't",
        "isn't",
        "aren't",
        "doesn't",
        "don't",
        "didn't",
        "haven't",
        "hasn't",
        "wasn't",
        "wont",
    )
    why = any_of(
        rf"{not_}",
        r"is\s+it\s+so\s+(?:hard|difficult)",
        r"should\s+i",
        r"do\s+i\s+(?:have|need)\s+to",
        r"do\s+you\s+(?:keep|always|never|still|even)",
        r"does\s+(?:it|this)\s+(?:take|keep)",
        r"is\s+it\s+that",
        r"(?:is|are)\s+(?:the|my|your|our|this|these|it|they)\s+(?:[\w'’]+\s+)?"
        r"(?:down|broken|not|still|always|never|so\s+(?:slow|bad|hard|expensive|difficult))",
        r"did\s+(?:you|they|u)\s+(?:all\s+|guys\s+)?(?:take\s+away|get\s+rid|remove|stop|discontinue|"
        r"change|cancel|charge|raise|drop)",
        r"am\s+i\s+(?:being|still|getting)",
    )
    return any_of(
        # Only "why" is matched, so the rules for what follows ("can't log in") still fire.
        rf"why(?=\s+(?:on\s+earth\s+|the\s+hell\s+|tf\s+|in\s+the\s+world\s+)?(?:{why})(?![\w'’]))",
        r"how\s+(?:hard|difficult)\s+(?:is\s+it|can\s+it\s+be)",
        r"how\s+many\s+(?:more\s+)?times",
        r"how\s+(?:does|did|could|can)\s+this\s+(?:even\s+)?(?:happen|be\s+allowed)",
        apos(r"what(?:'s|\s+is)\s+up\s+with\s+(?:that|this|y'all|you)"),
        r"is\s+this\s+(?:really|seriously|for\s+real|a\s+joke|acceptable|normal)",
        r"how\s+come",
    )


def broken_promise() -> str:
    """What was due did not happen: "was supposed to call me back", "should have been sent"."""
    return any_of(
        r"(?:was|were|am|is|are)\s+(?:supposed|meant|promised|due|told)\s+to\s+"
        r"(?:be|have|get|receive|return|call|arrive|deliver|ship|refund|fix|contact|hear|reply|"
        r"respond|send|come)",
        r"should\s+(?:have|'ve|of)\s+(?:been|arrived|got|gotten|received|heard)",
        r"promised(?=\s+(?:me\s+|us\s+)?(?:a|an|to|it|my)\s)",
    )


def acceptable_question() -> str:
    """ "How is this acceptable?": the praise word is the complaint, so the token replaces it."""
    acceptable = any_of(
        "acceptable",
        "ok",
        "okay",
        "fair",
        "legal",
        "allowed",
        "right",
        "reasonable",
        r"(?:good|customer)\s+service",
    )
    return rf"how\s+(?:is|was|are)\s+(?:this|that|it)\s+(?:even\s+|still\s+)?{acceptable}"


PRAISE_CUES = spellings(
    "thank thanks thx job work going done go love loving nothing glad nice brilliant"
)
FAILURE_CUES = spellings(
    "losing lost ignoring ignored wasting break breaking cancelling canceling cancelled",
    "canceled charging overcharging hang hanging hangs hung leaving keeping making waiting",
    "being placed put left placing putting sending ruining delaying runaround run messing",
    "screwing forgetting doing",
)
# Each form of chasing has one word of each group: "please" and what to do, "any" and the
# news, "when" and what is due, "status" and of what.
CHASING_CUES = (
    spellings("please pls plz kindly any when status"),
    spellings(
        "reply respond answer get call look escalate resolve refund explain check read update",
        "updates news response word progress expect hear receive be order claim case",
        "complaint repair replacement return",
    ),
)
# "times", "again", "twice" or "charged"; or an ordinal ("2nd" gives "nd") before a noun.
_AGAIN_ANY = spellings("times again twice charged")
AGAIN_CUES = (
    _AGAIN_ANY
    | spellings("second third fourth fifth sixth seventh tenth umpteenth nth another st nd rd th"),
    _AGAIN_ANY | spellings("time attempt call email complaint replacement visit"),
)
# Each form has "why", "how" or "what", or both "is" and "this" ("is this a joke"): as two
# groups that must both be present, since "is" or "this" alone is in most texts.
WHY_CUES = (spellings("why how what whats is"), spellings("why how what whats this"))
PROMISE_CUES = spellings("supposed meant promised due told should")
ACCEPTABLE_CUES = spellings("acceptable ok okay fair legal allowed right reasonable service")
