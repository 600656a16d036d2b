"""Our linear-time VADER scores exactly as vaderSentiment's own analyzer."""

from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor.sentiment.vader import Vader

STOCK = SentimentIntensityAnalyzer()
OURS = Vader()


def test_ground_truth_texts_score_exactly_as_stock_vader(ground_truth_texts: list[str]) -> None:
    for text in ground_truth_texts:
        assert OURS.polarity_scores(text) == STOCK.polarity_scores(text), text


def test_complaint_texts_score_exactly_as_stock_vader(complaint_texts: list[str]) -> None:
    for text in complaint_texts:
        assert OURS.polarity_scores(text) == STOCK.polarity_scores(text), text


def test_ten_kilobyte_texts_score_exactly_as_stock_vader(ground_truth_texts: list[str]) -> None:
    # Real sentences run together, so "but", negations, idioms, caps and emoji all recur.
    chunks, current = [], ""
    for text in ground_truth_texts:
        current += text + " "
        if len(current) >= 10_000:
            chunks.append(current)
            current = ""
        if len(chunks) == 4:
            break
    for text in chunks:
        assert OURS.polarity_scores(text) == STOCK.polarity_scores(text)


@pytest.mark.parametrize(
    "text",
    [
        # VADER's "but" walk scales the FIRST equal score, not the current one.
        "good good good but bad bad bad",
        "great, but great and great but not great",
        "It was not bad, but it was not good but okay",
        "GREAT service but TERRIBLE food 😡 but I love it",
        "kind of good but sort of bad",
        "no good, no bad, but no problem at all",
        "never so happy without doubt but the least bit sad",
        "",
        "   ",
        "😀😀 but 🙁",
    ],
)
def test_tricky_shapes_score_exactly_as_stock_vader(text: str) -> None:
    assert OURS.polarity_scores(text) == STOCK.polarity_scores(text)
