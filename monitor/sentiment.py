"""VADER sentiment: compound/pos/neu/neg and a label by configurable thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.models import Label, Score


@cache
def _base_analyzer() -> SentimentIntensityAnalyzer:
    """Loading VADER's lexicon takes ~0.1s, so the process builds it once."""
    return SentimentIntensityAnalyzer()


class Scorer:
    """Scores text for one brand: VADER plus that brand's lexicon overrides."""

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
        base = _base_analyzer()
        if lexicon:
            self.analyzer = SentimentIntensityAnalyzer.__new__(SentimentIntensityAnalyzer)
            self.analyzer.__dict__.update(base.__dict__)
            self.analyzer.lexicon = {**base.lexicon, **{k.lower(): v for k, v in lexicon.items()}}
        else:
            self.analyzer = base

    def label(self, compound: float) -> Label:
        if compound <= self.negative:
            return "negative"
        if compound >= self.positive:
            return "positive"
        return "neutral"

    def score(self, text: str) -> Score:
        s = self.analyzer.polarity_scores(text)
        return Score(
            compound=s["compound"],
            pos=s["pos"],
            neu=s["neu"],
            neg=s["neg"],
            label=self.label(s["compound"]),
        )
