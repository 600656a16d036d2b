"""The rules for how a complaint is said: sarcasm, chasing, "again", rhetorical questions."""

from __future__ import annotations

import pytest

from monitor.sentiment import Scorer

DEFAULTS = Scorer()
BARE = Scorer(complaints=False)


def fired(text: str) -> set[str]:
    return {hit.name for hit in DEFAULTS.hits(text)}


@pytest.mark.parametrize(
    "text",
    [
        "great job losing my parcel",
        "thanks for ignoring all my tweets",
        "I love waiting on hold",
        "Love when @acme hangs up on you",
        "Thank you for sending me a broken phone",
        "well done cancelling my flight",
    ],
)
def test_sarcasm_rule_fires_on_praise_for_a_failure(text: str) -> None:
    assert "sarcasm" in fired(text)
    assert DEFAULTS.score(text).label == "negative"


@pytest.mark.parametrize(
    "text",
    ["thanks for the help!", "love it, nothing like fresh bread", "great job on the launch"],
)
def test_sarcasm_rule_ignores_praise_for_something_good(text: str) -> None:
    assert "sarcasm" not in fired(text)
    assert DEFAULTS.score(text).label == "positive"


@pytest.mark.parametrize(
    "text", ["please respond", "any update?", "Any updates please", "when will I get my refund"]
)
def test_chasing_rule_fires_on_chasing_an_answer(text: str) -> None:
    assert "chasing" in fired(text)
    assert DEFAULTS.score(text).label == "negative"


@pytest.mark.parametrize(
    "text",
    ["please enjoy the show", "any updates to the menu coming?", "when will you fly to Rome?"],
)
def test_chasing_rule_ignores_requests_that_chase_nothing(text: str) -> None:
    assert "chasing" not in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "second time this week",
        "called five times, no answer",
        "charged twice",
        "the app logged me out again",
        "I have emailed you 3 times",
    ],
)
def test_again_rule_fires_on_a_repeated_failure(text: str) -> None:
    assert "again" in fired(text)
    assert DEFAULTS.score(text).label == "negative"


@pytest.mark.parametrize(
    "text", ["second time lucky!", "I would buy again", "see you next time", "called it a day"]
)
def test_again_rule_ignores_repeats_that_are_not_failures(text: str) -> None:
    assert "again" not in fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "why should I pay for this",
        "why can't you fix it",
        "Why did you get rid of the taco",
        "how many times do I have to ask",
        "is this really what you call a large",
    ],
)
def test_why_question_rule_fires_on_a_rhetorical_question(text: str) -> None:
    assert "why_question" in fired(text)
    assert DEFAULTS.score(text).label == "negative"


@pytest.mark.parametrize(
    "text", ["why is the sky blue", "will you fly to Boston?", "how is the new menu?"]
)
def test_why_question_rule_ignores_questions_asking_for_information(text: str) -> None:
    assert "why_question" not in fired(text)
    assert DEFAULTS.score(text).label == "neutral"


@pytest.mark.parametrize("text", ["how is this acceptable?", "How is that OK", "how is it fair"])
def test_acceptable_question_rule_turns_the_praise_word_into_the_complaint(text: str) -> None:
    assert "acceptable_question" in fired(text)
    assert DEFAULTS.score(text).label == "negative"


@pytest.mark.parametrize("text", ["is that ok?", "how is everything, all ok?"])
def test_acceptable_question_rule_ignores_plain_questions(text: str) -> None:
    assert "acceptable_question" not in fired(text)


def test_the_but_rule_lets_a_complaint_outweigh_a_polite_opener() -> None:
    assert DEFAULTS.score("Loved you for years, but my order never arrived").label == "negative"


@pytest.mark.parametrize("text", ["not bad at all", "no problem", "no complaints", "can't wait!"])
def test_negated_complaint_words_stay_non_negative(text: str) -> None:
    assert DEFAULTS.score(text).label != "negative"


def test_courtesy_around_a_complaint_does_not_outweigh_it() -> None:
    assert BARE.score("can't log in, please help, thanks!").label == "positive"
    assert DEFAULTS.score("can't log in, please help, thanks!").label == "negative"


def test_courtesy_around_a_strongly_negative_word_does_not_outweigh_it() -> None:
    assert DEFAULTS.score("hi, the app is terrible, please help, thanks").label == "negative"


def test_courtesy_without_a_complaint_keeps_its_valence() -> None:
    assert DEFAULTS.score("hi, please help me pick a gift, thanks!").label == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "my adjuster was supposed to return my call within two hours",
        "the item should have been dispatched on the same day",
        "they promised a call back and nothing",
    ],
)
def test_broken_promise_rule_fires_on_what_was_due(text: str) -> None:
    assert "broken_promise" in fired(text)
    assert DEFAULTS.score(text).label == "negative"


@pytest.mark.parametrize(
    "text", ["you should have seen the view", "it is supposed to rain", "the store is due to open"]
)
def test_broken_promise_rule_ignores_other_expectations(text: str) -> None:
    assert "broken_promise" not in fired(text)


@pytest.mark.parametrize("text", ["Can I get a status on my refund?", "any status of the order"])
def test_chasing_rule_fires_on_asking_for_a_status(text: str) -> None:
    assert "chasing" in fired(text)


@pytest.mark.parametrize("text", ["why are the apps down?!", "why is it so slow"])
def test_why_question_rule_fires_on_why_something_is_broken(text: str) -> None:
    assert "why_question" in fired(text)
    assert DEFAULTS.score(text).label == "negative"
