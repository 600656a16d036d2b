"""Hashtags split into words, an emoji valence table, and slashed words split."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.sentiment import Scorer, load_complaints

DEFAULTS = Scorer()
BARE = Scorer(complaints=False)


@pytest.mark.parametrize("tag", ["#worstservice", "#WorstAfterSales", "#neveragain", "#fail"])
def test_a_complaint_hashtag_scores_negative(tag: str) -> None:
    assert DEFAULTS.score(f"@acme {tag}").label == "negative"


def test_a_hashtag_is_read_as_its_words() -> None:
    assert DEFAULTS.engine.rewrite("so slow #worstaftersales") == "so slow worst after sales"


@pytest.mark.parametrize("tag", ["#therapist", "#acmeday", "#blessed2024", "#TBT"])
def test_a_hashtag_that_does_not_split_into_scored_words_is_left_alone(tag: str) -> None:
    assert DEFAULTS.engine.rewrite(f"hi {tag}") == f"hi {tag}"


@pytest.mark.parametrize("emoji", ["😡", "🙄", "😤", "🤬", "👎"])
def test_an_angry_emoji_scores_negative(emoji: str) -> None:
    assert BARE.score(f"my order {emoji}").label != "negative"
    assert DEFAULTS.score(f"my order {emoji}").label == "negative"


def test_a_happy_emoji_keeps_vaders_valence() -> None:
    assert DEFAULTS.score("my order 😀") == BARE.score("my order 😀")


def test_slashed_words_are_read_apart() -> None:
    assert DEFAULTS.score("staff were rude/condescending").label == "negative"


def test_a_url_keeps_its_slashes() -> None:
    text = "see https://t.co/sad/bad"
    assert DEFAULTS.engine.rewrite(text) == text


def test_loader_rejects_a_word_under_emoji(tmp_path: Path) -> None:
    path = tmp_path / "complaints.yaml"
    path.write_text('emoji:\n  "angry": -2\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"emoji\.angry: not an emoji"):
        load_complaints(path)


def _split_backward(words: frozenset[str], tag: str) -> list[str] | None:
    """The segmenter's first algorithm (each end from every start before it): the reference."""
    best: list[list[str] | None] = [[]] + [None] * len(tag)
    for end in range(1, len(tag) + 1):
        for start in range(max(0, end - 16), end):
            head, current = best[start], best[end]
            if head is None or tag[start:end] not in words:
                continue
            if current is None or len(head) + 1 < len(current):
                best[end] = [*head, tag[start:end]]
    return best[len(tag)]


def test_the_forward_split_picks_what_the_backward_split_picked() -> None:
    segmenter = DEFAULTS.engine.segmenter
    assert segmenter is not None
    common = sorted(load_complaints().hashtag_words)
    # Ties of equally few words ("nowhere" = "no where" = "now here"), words of 16 letters and
    # more, and strings that do not split at all.
    tags = [a + b for a in common[::7] for b in common[::5]]
    tags += [a + b + c for a, b, c in zip(common, common[3:], common[7:], strict=False)]
    tags += ["nowhere", "therapistsnotable", "customerservicecustomerservice", "xqzacme", "a" * 40]
    tags += ["uncharacteristically", "uncharacteristicallyslow", "togethertogetherfail"]
    for tag in tags:
        assert segmenter.split(tag) == _split_backward(segmenter.words, tag), tag


def test_a_repeated_hashtag_is_split_once() -> None:
    scorer = Scorer(lexicon={"zqxbad": -2.0})
    segmenter = scorer.engine.segmenter
    assert segmenter is not None
    scorer.score("#zqxbadservice again")
    segmenter.words = frozenset()  # a second split would now find no words
    assert scorer.engine.rewrite("#zqxbadservice") == "zqxbad service"
