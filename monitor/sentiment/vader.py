"""Our VADER: reads a phrase rule's synthetic token at the rule's own valence."""

from __future__ import annotations

from collections.abc import Mapping

from vaderSentiment.vaderSentiment import C_INCR, SentimentIntensityAnalyzer, SentiText


class RuleAnalyzer(SentimentIntensityAnalyzer):
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
