"""The demo's scripted scenario for Brightwave, a fictional home broadband provider.

A week of ordinary talk (mostly neutral or happy, some routine gripes), then a burst of angry
mentions during an outage in the last hour. Times are offsets from the moment the demo starts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

BRAND = "Brightwave"

ORDINARY = [
    "Switched to Brightwave last month and the speeds have been great, 900 down most evenings.",
    "Does anyone know if Brightwave supports IPv6 yet? Their help pages are vague about it.",
    "Brightwave engineer turned up on time and had the fibre installed in under an hour. Impressed.",
    "Comparing Brightwave and a couple of other providers for a new flat, any opinions?",
    "Brightwave's router is fine but I put my own in bridge mode, works nicely.",
    "Just got the Brightwave bill, same as last month, no surprises for once.",
    "Brightwave support sorted my billing question over chat in five minutes, nice.",
    "Is Brightwave available in Leeds yet or still only the south?",
    "Brightwave latency to game servers is consistently low, really happy with it.",
    "Brightwave price going up by two pounds in April according to the email.",
    "Moved house and Brightwave transferred the line without any downtime. Smooth.",
    "Anyone using Brightwave with a mesh setup? Thinking of adding a second node.",
    "Brightwave's status page is actually useful, wish more ISPs did this.",
    "Upload speed on Brightwave is symmetric which is lovely for video calls.",
    "The Brightwave app shows my data usage per device, handy for keeping an eye on the kids.",
    "Brightwave was a bit slow this evening but back to normal now.",
    "Brightwave customer service kept me waiting a while but the agent was friendly.",
    "Had a short Brightwave dropout at lunch, came back on its own after a minute.",
    "Brightwave's new contract terms are clearer than the old ones, good move.",
    "Recommended Brightwave to my neighbour, she signed up today.",
    "Brightwave installation slot got moved to next week, slightly annoying but fine.",
    "Speed test on Brightwave tonight: 940 down, 930 up. Lovely.",
    "Brightwave still hasn't fixed the typo on their pricing page, ha.",
    "I like that Brightwave doesn't throttle streaming at peak times.",
    "The Brightwave router's admin page is clunky, but it works.",
    "Brightwave wifi dropped twice today, annoying when working from home.",
    "Thinking about leaving Brightwave, the price rise is frustrating.",
]

ANGRY = [
    # Outage complaints first: the outage topic crosses its level in the same pass as the brand,
    # so the demo's alert shows the breakdown.
    "Brightwave is down AGAIN. No internet for the whole street and the status page says all good. Useless.",
    "Third Brightwave outage this month. I work from home, this is costing me money. Absolutely furious.",
    "Been on hold with Brightwave for 50 minutes during an outage. Terrible, just terrible service.",
    "Brightwave completely dead in Bristol. No warning, no updates, nothing. Awful.",
    "Brightwave outage has killed my meeting with a client. Embarrassing and unacceptable.",
    "No internet since 10am thanks to Brightwave. Not a single update. Pathetic.",
    "Brightwave down, phone line down, app crashes when I try to report it. Hopeless.",
    "Cancelling Brightwave the moment this outage ends. Sick of the excuses.",
    "Brightwave's outage map is wrong, whole neighbourhood offline. Angry doesn't cover it.",
    "Brightwave has been down for an hour and their twitter is silent. Shameful.",
    "Worst week ever with Brightwave: slow, then down, now support won't answer.",
    "Brightwave engineers 'investigating' for an hour. My business is offline. Disaster.",
    "Brightwave, stop telling me to restart the router. Your whole network is down!",
    "Brightwave outage again and the compensation they offered last time was an insult.",
    "I regret switching to Brightwave. Down again, no ETA, no apology.",
    "Brightwave support chat just disconnected me twice. Worst ISP I have ever had.",
    "Brightwave, your network is broken and your support line just hangs up. Disgraceful.",
    "Paying Brightwave for gigabit and getting nothing at all today. I want a refund.",
    "Another Brightwave failure. The kids can't do homework, I can't work. Fed up.",
    "Brightwave told me there is no fault. There is clearly a fault. Infuriating.",
    "Absolutely livid with Brightwave right now, lost a whole afternoon of work.",
    "Brightwave broke the internet for half of Manchester. Terrible communication.",
]

AUTHORS = [
    "mjensen",
    "the_real_kat",
    "tomdev",
    "northern_nat",
    "pixelpusher",
    "quietcoder",
    "jlo_84",
    "fibrefan",
    "amara_k",
    "sysadmin_sam",
    "wfh_dad",
    "linnea",
    "rustacean_ro",
    "bea_builds",
    "oldmanyells",
    "cloudy_cal",
    "nadia_ops",
    "petebytes",
    "hannahsolo",
    "gus_g",
]


@dataclass(frozen=True, slots=True)
class ScriptedMention:
    object_id: int
    author: str
    text: str
    offset: timedelta  # from the demo's start; negative = in the past
    points: int


def scripted_week(seed: int = 7) -> tuple[list[ScriptedMention], list[ScriptedMention]]:
    """(history, burst): ~15 days of ordinary talk, then angry mentions revealed live.

    Fifteen days hold the last complete ISO week whatever today's weekday, so the demo's digest
    shows a whole week, not the few days of the current one.

    Burst offsets are small positive numbers of seconds: the demo server only serves a burst
    mention once its moment has come, so the daemon discovers the spike while it runs.
    """
    rng = random.Random(seed)
    history = []
    oid = 40_000_000
    hours = 15 * 24
    for hour in range(hours, 1, -1):
        # Busier in the day, quieter at night: 0-3 mentions an hour.
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2, 2, 3])):
            oid += 1
            history.append(
                ScriptedMention(
                    oid,
                    rng.choice(AUTHORS),
                    rng.choice(ORDINARY),
                    -timedelta(hours=hour, minutes=rng.randint(0, 59)),
                    rng.randint(1, 40),
                )
            )
    burst = []
    for i, text in enumerate(ANGRY):
        oid += 1
        burst.append(
            ScriptedMention(
                oid, rng.choice(AUTHORS), text, timedelta(seconds=1 + i * 0.25), rng.randint(1, 300)
            )
        )
    return history, burst


def hit(m: ScriptedMention, start: datetime) -> dict[str, Any]:
    """One mention in the HN Algolia `search_by_date` hit format (a comment)."""
    when = start + m.offset
    return {
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "title": None,
        "url": None,
        "author": m.author,
        "points": m.points,
        "story_text": None,
        "comment_text": m.text.replace("'", "&#x27;"),
        "num_comments": None,
        "story_id": 39_999_999,
        "story_title": "Ask HN: Which home broadband provider do you trust?",
        "parent_id": 39_999_999,
        "created_at_i": int(when.timestamp()),
        "_tags": ["comment", f"author_{m.author}", "story_39999999"],
        "objectID": str(m.object_id),
    }
