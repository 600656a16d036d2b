"""The complaint layer's output, pinned: every score and explanation as recorded.

``layer_expected.json.gz`` holds, for each text below and each scorer (the defaults, and a brand
with word and phrase overrides and its own complaint phrases), the Score, the hits and the
explanation, recorded from the layer before it was made faster. Speed work on the layer must
leave all of it unchanged; a deliberate change of the layer (a new rule, a new phrase)
re-records it with ``MONITOR_RECORD_LAYER=1 pytest tests/sentiment/test_layer_identity.py``
and shows the changed outputs in review.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
from pathlib import Path

import pytest

from monitor.sentiment import Scorer, load_complaints
from monitor.sentiment.explain import explain

EXPECTED = Path(__file__).with_name("layer_expected.json.gz")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SCORERS = {
    "defaults": Scorer(),
    "brand": Scorer(
        lexicon={"acme": 0.5, "slow": -2.5, "on hold": -2.0, "never arrived": -3.0},
        complaint_phrases={"out of stock": -2.0, "battery drain": -1.8, "sold out": -1.0},
    ),
}

# One or more texts that fire each rule, and near misses that must not: the seeds of the
# adversarial texts below.
SEEDS = [
    "on hold for 40 minutes",
    "40 min on hold",
    "I waited 2 hours for a technician",
    "been waiting since Monday",
    'my package has been "out for delivery" for 4 days',
    "3 days and no reply",
    "2 weeks later, still nothing",
    "still no refund",
    "still not fixed",
    "STILL waiting",
    "still, no answer",
    "package never arrived",
    "haven't received my order",
    "has yet to arrive",
    "never received such good service",
    "where is my order?",
    "where's my refund",
    "where the hell is my package",
    "app not working",
    "won't turn on",
    "keeps crashing",
    "nothing works",
    "it works fine",
    "can't log in",
    "unable to pay",
    "not able to cancel",
    "why can't I add my account",
    "I can't believe how good this is",
    "no response",
    "nobody got back to me",
    "still waiting for a reply",
    "no problem at all",
    "thanks for ignoring me",
    "great job losing my parcel",
    "I love waiting on hold",
    "love when @acme hangs up on you",
    "thanks for the quick help",
    "please respond",
    "any update?",
    "when will I get my refund",
    "status on my refund",
    "second time this week",
    "called five times",
    "charged twice",
    "crashed again",
    "why is the app always down",
    "how is this acceptable?",
    "how many more times",
    "is this a joke",
    "was supposed to call me back",
    "should have been sent",
    "promised me a refund",
    "customer service was great",
    "having issues with my bill",
    "locked out of my account",
    "out of stock again",
    "the site is down",
    "doesn't sound right",
    "battery drain is awful",
    "sold out in minutes",
    "not slow at all",
]
DECORATIONS = [
    "{}",
    "{} 😡",
    "{} 🤦‍♀️🙄",
    "Acme: {}",
    "@acme {}!!! thanks",
    "hi, {}. please help",
    "{} but the staff were lovely",
    "not {}",
    "{}?? #worstservice #fail",
    "İstanbul store: {}",
    "{} (https://acme.com/rude/slow)",
    "rude/slow staff, {}",
]


def _variants(seed: str) -> list[str]:
    words = seed.split()
    return [
        seed,
        seed.upper(),
        seed.title(),
        ", ".join(words),  # a phrase across punctuation
        "... ".join(words),
        "#" + "".join(w.strip("?!\"',") for w in words),  # the phrase as one hashtag
        "\n".join(words),
        f"{seed}. {seed}",
    ]


def adversarial_texts() -> list[str]:
    texts = [
        deco.format(v)
        for seed, deco in itertools.product(SEEDS, DECORATIONS)
        for v in _variants(seed)[: 8 if deco == "{}" else 2]
    ]
    layer = load_complaints()
    texts += [f"the {phrase} again" for phrase in layer.phrases]
    texts += [f"{phrase.upper()}!" for phrase in layer.phrases]
    texts += [f"{word} {word.upper()}" for word in layer.words]
    return texts


def _rows(path: Path, column: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[column] for line in lines if line.strip() and not line.startswith("#")]


def all_texts() -> list[str]:
    texts = _rows(FIXTURES / "sentiment" / "tweets_GroundTruth.txt", 2)
    texts += _rows(FIXTURES / "sentiment" / "amazonReviewSnippets_GroundTruth.txt", 2)
    complaints = _rows(FIXTURES / "complaints" / "complaints_dev.tsv", 4)
    texts += complaints + [f"Acme: {text}" for text in complaints]
    return texts + adversarial_texts()


def observed(scorer: Scorer, text: str) -> list[object]:
    s = scorer.score(text)
    explanation = explain(scorer, text)
    return [
        [s.compound, s.pos, s.neu, s.neg, s.label],
        [[h.name, h.text] for h in scorer.hits(text)],
        [[e.kind, e.name, e.text, e.valence, e.source] for e in explanation.effects],
        [explanation.compound, explanation.label, explanation.vader_alone],
    ]


def _record() -> None:
    texts = all_texts()
    table = {name: [observed(s, t) for t in texts] for name, s in SCORERS.items()}
    payload = json.dumps({"texts": texts, **table}, ensure_ascii=False)
    EXPECTED.write_bytes(gzip.compress(payload.encode(), mtime=0))


@pytest.fixture(scope="module")
def expected() -> dict[str, list[object]]:
    if os.environ.get("MONITOR_RECORD_LAYER") == "1":
        _record()
    loaded: dict[str, list[object]] = json.loads(gzip.decompress(EXPECTED.read_bytes()))
    return loaded


def test_the_recording_covers_every_text_the_tests_generate(
    expected: dict[str, list[object]],
) -> None:
    assert expected["texts"] == all_texts()


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_every_score_hit_and_explanation_is_as_recorded(
    expected: dict[str, list[object]], name: str
) -> None:
    scorer = SCORERS[name]
    texts = expected["texts"]
    mismatches = [
        (text, want, got)
        for text, want in zip(texts, expected[name], strict=True)
        if (got := json.loads(json.dumps(observed(scorer, str(text)), ensure_ascii=False))) != want
    ]
    assert not mismatches[:5], f"{len(mismatches)} texts differ"
