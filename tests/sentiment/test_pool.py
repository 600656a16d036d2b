"""Scoring a batch in a process pool gives what scoring it in-process gives."""

from __future__ import annotations

from monitor.sentiment import Scorer
from monitor.sentiment.pool import ScorerSpec, score_texts


def test_a_pooled_batch_scores_as_one_process_does(complaint_texts: list[str]) -> None:
    texts = complaint_texts[:400]
    pooled = score_texts(ScorerSpec(), texts, workers=2, threshold=10)
    assert pooled == [Scorer().score(text) for text in texts]


def test_a_pooled_batch_uses_the_brands_lexicon_and_thresholds() -> None:
    spec = ScorerSpec.of(
        lexicon={"acme": -3.0},
        complaint_phrases={"battery drain": -2.0},
        negative=-0.3,
        positive=0.3,
    )
    texts = ["acme", "battery drain again", "fine thanks", "acme is great"] * 5
    local = Scorer(
        lexicon={"acme": -3.0},
        complaint_phrases={"battery drain": -2.0},
        negative=-0.3,
        positive=0.3,
    )
    assert score_texts(spec, texts, workers=2, threshold=10) == [local.score(t) for t in texts]


def test_a_small_batch_scores_in_process_as_a_scorer_does() -> None:
    texts = ["still no refund", "love it"]
    assert score_texts(ScorerSpec(), texts) == [Scorer().score(t) for t in texts]
