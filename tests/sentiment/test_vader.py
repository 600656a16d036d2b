"""Our fast VADER scores exactly as vaderSentiment's own analyzer, text for text."""

from __future__ import annotations

import random

import pytest
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

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
        " \t\n ",
        "😀😀 but 🙁",
        "The book was only kind of good.",
        "It is the shit, the bomb, a bad ass bus stop. Yeah right, kiss of death",
        "at least it is good, the least good, very least bad",
        "never so good, never this bad, without doubt great, so this good",
        "GOOD food, BAD service, VERY BAD wait",
        "GOOD FOOD AND GREAT SERVICE",
        "great!!!!!! awful??? fine?? ok?",
        "no problem, no good or bad, nor ugly",
        "isn't good, ain't bad, didn't love it, cannot hate",
        "just enough good, sort of bad, kinda great",
        "Make sure you :) or :D today!",
        "İİ. good ΣΑΣ BAD",
    ],
)
def test_tricky_shapes_score_exactly_as_stock_vader(text: str) -> None:
    assert OURS.polarity_scores(text) == STOCK.polarity_scores(text)


def _adversarial_texts(count: int, seed: int) -> list[str]:
    """Texts built from the words VADER's rules read: negations, "but", boosters, idioms,
    "least", "never so", caps, emoticons, emoji and punctuation runs, in random orders."""
    rng = random.Random(seed)
    words = [
        *sorted(STOCK.lexicon)[::150],
        *BOOSTER_DICT,
        *NEGATE,
        *(w for key in SPECIAL_CASES for w in key.split()),
        *[
            "but",
            "BUT",
            "kind",
            "of",
            "no",
            "or",
            "nor",
            "least",
            "at",
            "very",
            "never",
            "so",
            "this",
            "without",
            "doubt",
        ],
        *[
            "GOOD",
            "Great",
            "bad!",
            "ok??",
            "wow!!!",
            ":)",
            ":(",
            "😀",
            "🙁",
            "💘",
            "n't",
            "isn't",
            "...",
            "-",
            "it",
            "I",
            "a",
        ],
    ]
    texts = []
    for _ in range(count):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
        texts.append(text.upper() if rng.random() < 0.2 else text)
    return texts


def test_generated_adversarial_texts_score_exactly_as_stock_vader() -> None:
    for text in _adversarial_texts(3000, seed=12):
        assert OURS.polarity_scores(text) == STOCK.polarity_scores(text), text
