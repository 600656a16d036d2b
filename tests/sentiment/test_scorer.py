"""Tests for monitor/sentiment/ (scorer, rules, lexicon): VADER plus the complaint layer."""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from monitor import sentiment
from monitor.sentiment import COMPLAINTS_FILE, RULES, Scorer, load_complaints
from monitor.sentiment import engine as engine_module
from monitor.sentiment.engine import _bounded
from monitor.sentiment.scorer import base_analyzer, engine_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TWEETS = FIXTURES / "sentiment" / "tweets_GroundTruth.txt"
AMAZON = FIXTURES / "sentiment" / "amazonReviewSnippets_GroundTruth.txt"
COMPLAINTS = FIXTURES / "complaints" / "complaints_dev.tsv"

DEFAULTS = Scorer()
BARE = Scorer(complaints=False)


def rules_fired(text: str) -> set[str]:
    return {hit.name for hit in DEFAULTS.hits(text)}


def ground_truth(path: Path) -> list[tuple[float, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            _id, mean, text = line.split("\t", 2)
            rows.append((float(mean), text))
    return rows


def complaint_rows() -> list[tuple[bool, str]]:
    rows = []
    for line in COMPLAINTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            _id, complaint, _domain, _split, text = line.split("\t", 4)
            rows.append((complaint == "1", text))
    return rows


# --- the phrase rules: texts that fire them, and close texts that must not ---------------------


@pytest.mark.parametrize(
    "text",
    [
        "on hold for 40 minutes",
        "40 min on hold",
        "I waited 2 hours for a technician",
        "been waiting over an hour",
        "a 25 minute wait to talk to anyone",
        "flight delayed 3 hours",
        'my package has been "out for delivery" for 4 days',
        "Internet has been out for hours",
        "stuck in the queue for 30mins",
    ],
)
def test_waiting_rule_fires_on_a_wait_with_a_duration(text: str) -> None:
    assert "waiting" in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "I've been a customer for 10 years",
        "the battery lasts 10 hours",
        "I slept for 3 hours",
        "hold the door for a minute",
        "3 days only: everything half price",
        "waiting for the weekend",
        "can't wait to see you in 2 days",
    ],
)
def test_waiting_rule_ignores_durations_without_a_wait(text: str) -> None:
    assert "waiting" not in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "still no refund",
        "still not fixed",
        "STILL waiting",
        "Still, no progress",
        "it still doesn't work",
    ],
)
def test_still_no_rule_fires_on_something_still_missing(text: str) -> None:
    assert "still_no" in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "still the best pizza in town",
        "I'm still not sure which plan to pick",
        "the stillness of the lake",
        "still love it",
    ],
)
def test_still_no_rule_ignores_still_without_a_lack(text: str) -> None:
    assert "still_no" not in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "package never arrived",
        "I never received my order",
        "haven't received my refund",
        "the parcel has yet to arrive",
        "the courier never showed up",
        "I haven't heard back from anyone",
    ],
)
def test_never_arrived_rule_fires_when_what_was_due_did_not_come(text: str) -> None:
    assert "never_arrived" in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "never been happier",
        "it arrived early, thanks",
        "the order arrived today",
        "never thought I'd say this",
        "didn't get the joke",
        "I have never received such good service",
    ],
)
def test_never_arrived_rule_ignores_arrivals_and_other_nevers(text: str) -> None:
    assert "never_arrived" not in rules_fired(text)


@pytest.mark.parametrize("text", ["where is my order?", "Where's my refund", "where are my items"])
def test_where_is_my_rule_fires_on_asking_after_an_order(text: str) -> None:
    assert "where_is_my" in rules_fired(text)


@pytest.mark.parametrize("text", ["where is the store", "where my order ships from"])
def test_where_is_my_rule_ignores_other_questions(text: str) -> None:
    assert "where_is_my" not in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "app not working",
        "wifi isn't working again",
        "my printer won't print",
        "it stopped working",
        "the app keeps crashing since the update",
        "website doesn't load",
        "the remote won't turn on",
        "it won't let me pay",
        "nothing works",
    ],
)
def test_not_working_rule_fires_on_a_failure(text: str) -> None:
    assert "not_working" in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    ["working on it", "it works great now", "keep it up", "keeps me going", "not work related"],
)
def test_not_working_rule_ignores_work_that_works(text: str) -> None:
    assert "not_working" not in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "can't log in",
        "cannot sign in to my account",
        "unable to pay my bill",
        "not able to cancel",
        "Why can't I add my account",
        "it won't allow me to pay",
    ],
)
def test_cannot_rule_fires_on_a_blocked_service_action(text: str) -> None:
    assert "cannot" in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "can't wait for the launch",
        "can't believe how good this is",
        "I can't stop listening",
        "can't complain",
    ],
)
def test_cannot_rule_ignores_cant_without_a_service_verb(text: str) -> None:
    assert "cannot" not in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "no response to my emails",
        "waiting for a reply since Monday",
        "nobody has got back to me",
        "no one answers the phone",
        "awaiting your response",
    ],
)
def test_no_reply_rule_fires_when_nobody_answers(text: str) -> None:
    assert "no_reply" in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    ["no problem at all", "thanks for the quick reply", "no one does it better"],
)
def test_no_reply_rule_ignores_no_without_a_missing_answer(text: str) -> None:
    assert "no_reply" not in rules_fired(text)


@pytest.mark.parametrize(
    "text",
    ["3 days and no reply", "2 weeks later and still nothing", "48 hours, no response"],
)
def test_days_no_reply_rule_fires_on_time_passed_without_an_answer(text: str) -> None:
    assert "days_no_reply" in rules_fired(text)


@pytest.mark.parametrize("text", ["3 days and counting until launch", "2 days and no regrets"])
def test_days_no_reply_rule_ignores_time_without_a_missing_answer(text: str) -> None:
    assert "days_no_reply" not in rules_fired(text)


def test_a_rule_hit_turns_a_neutral_fact_negative() -> None:
    text = "on hold for 40 minutes"
    assert BARE.score(text).label == "neutral"
    assert DEFAULTS.score(text).label == "negative"


def test_an_all_caps_complaint_keeps_vaders_caps_emphasis() -> None:
    shouted = DEFAULTS.score("NEVER GOT A CALL BACK from support today").compound
    said = DEFAULTS.score("never got a call back from support today").compound
    assert shouted < said < 0


def test_every_rule_has_a_valence_in_the_default_file() -> None:
    assert set(load_complaints().rules) == set(RULES)


def test_cue_gating_finds_what_an_ungated_scan_finds() -> None:
    # The cue words only skip work: on every fixture text the matches must be the same.
    engine = engine_for(True, ())
    everything = engine.combined()
    texts = [t for _, t in ground_truth(TWEETS) + ground_truth(AMAZON)]
    texts += [t for _, t in complaint_rows()]
    for text in texts:
        lowered = text.lower()
        gated = [(name, m.span()) for name, m in engine._matches(lowered)]
        assert gated == [(m.lastgroup, m.span()) for m in everything.finditer(lowered)], text


# --- the lexicon: default words and phrases, brand overrides, the switch ----------------------


def test_a_complaint_word_scores_negative() -> None:
    assert BARE.score("the app crashes").label == "neutral"
    assert DEFAULTS.score("the app crashes").label == "negative"


def test_a_phrase_replaces_the_valence_of_its_words() -> None:
    # VADER reads "care" as +2.2; in "customer care" it names a department.
    assert BARE.score("customer care").compound > 0
    assert DEFAULTS.score("customer care").compound == 0


def test_a_brand_word_override_beats_the_default_word() -> None:
    assert Scorer(lexicon={"Crashes": 0.0}).score("the app crashes").compound == 0


def test_a_brand_phrase_override_beats_the_default_phrase() -> None:
    assert Scorer(lexicon={"on hold": 0.0}).score("I'm on hold").compound == 0


def test_a_brand_phrase_override_beats_a_rule_starting_at_the_same_word() -> None:
    # A product called "Still Waiting" is praise, not a complaint.
    scorer = Scorer(lexicon={"still waiting": 2.0})
    assert scorer.score("still waiting is a great album").label == "positive"


def test_brand_overrides_apply_with_the_complaint_layer_off() -> None:
    scorer = Scorer(lexicon={"acme": -2.0, "on hold": -2.0}, complaints=False)
    assert scorer.score("acme").label == "negative"
    assert scorer.score("I'm on hold").label == "negative"


@pytest.mark.parametrize(
    "text",
    ["on hold for 40 minutes", "the app crashes", "customer care", "still no refund :("],
)
def test_complaints_off_scores_exactly_as_vader(text: str) -> None:
    assert (
        BARE.score(text).compound == SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
    )


def test_loader_rejects_a_valence_outside_vaders_scale(tmp_path: Path) -> None:
    path = tmp_path / "complaints.yaml"
    path.write_text("words:\n  delayed: -7\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"words\.delayed.*outside"):
        load_complaints(path)


def test_loader_rejects_an_unknown_rule(tmp_path: Path) -> None:
    path = tmp_path / "complaints.yaml"
    path.write_text("rules:\n  waitng: -2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"rules\.waitng: no such rule"):
        load_complaints(path)


def test_loader_rejects_a_word_with_a_space(tmp_path: Path) -> None:
    path = tmp_path / "complaints.yaml"
    path.write_text("words:\n  on hold: -1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="move it under `phrases`"):
        load_complaints(path)


def test_the_default_file_ships_beside_the_module() -> None:
    assert COMPLAINTS_FILE.parent == Path(sentiment.__file__).parent
    assert load_complaints().words and load_complaints().phrases


# --- one analyzer per process -------------------------------------------------------------------


def test_scorers_with_the_same_overrides_share_one_analyzer() -> None:
    assert Scorer(lexicon={"acme": 1.0}).analyzer is Scorer(lexicon={"acme": 1.0}).analyzer


def test_scorers_with_different_overrides_do_not_share_lexicons() -> None:
    one = Scorer(lexicon={"acme": 1.0})
    other = Scorer(lexicon={"acme": -1.0})
    assert one.analyzer.lexicon["acme"] == 1.0
    assert other.analyzer.lexicon["acme"] == -1.0


def test_overrides_never_touch_vaders_own_lexicon() -> None:
    Scorer(lexicon={"great": -4.0})
    assert base_analyzer().lexicon["great"] == 3.1


def test_vaders_lexicon_is_loaded_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    original = SentimentIntensityAnalyzer.__init__

    def counting_init(self: SentimentIntensityAnalyzer, *args: object, **kwargs: object) -> None:
        loads.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(SentimentIntensityAnalyzer, "__init__", counting_init)
    for i in range(20):
        Scorer(lexicon={f"brand{i % 3}": 1.0}).score("still no refund")
    assert loads == []


# --- VADER's behaviour where it is right --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I love this phone, it is great!",
        "not good at all",
        "The food was VERY bad :(",
        "😠",
        "🙂 nice",
        "yeah right",
        "meh",
    ],
)
def test_text_without_complaint_words_scores_exactly_as_vader(text: str) -> None:
    assert DEFAULTS.score(text) == BARE.score(text)


def test_praise_stays_positive() -> None:
    assert DEFAULTS.score("The support team was great, thanks!").label == "positive"


def test_intensifiers_strengthen_complaint_words() -> None:
    assert DEFAULTS.score("very slow").compound < DEFAULTS.score("slow").compound < 0


def test_negation_flips_a_complaint_word() -> None:
    assert DEFAULTS.score("the flight was not delayed").label != "negative"


def test_scores_stay_within_minus_one_and_one() -> None:
    rant = "still no refund, on hold for 3 hours, never arrived, can't log in. " * 20
    score = DEFAULTS.score(rant)
    assert -1.0 <= score.compound < 0
    assert 0.0 <= score.neg <= 1.0


def test_label_thresholds_are_configurable() -> None:
    strict = Scorer(negative=-0.5, positive=0.5)
    assert [strict.label(x) for x in (-0.6, -0.3, 0.3, 0.6)] == [
        "negative",
        "neutral",
        "neutral",
        "positive",
    ]


def test_a_negative_threshold_above_the_positive_one_is_refused() -> None:
    with pytest.raises(ValueError, match="negative threshold"):
        Scorer(negative=0.5, positive=0.1)


# --- the ground truth ---------------------------------------------------------------------------


def test_tweets_ground_truth_pearson_r_is_at_least_085() -> None:
    rows = ground_truth(TWEETS)
    r = statistics.correlation([m for m, _ in rows], [DEFAULTS.score(t).compound for _, t in rows])
    assert r >= 0.85


def test_complaint_recall_gains_20_points_at_precision_085() -> None:
    def precision_recall(scorer: Scorer) -> tuple[float, float]:
        tp = fp = fn = 0
        for complaint, text in complaint_rows():
            negative = scorer.score(text).label == "negative"
            tp += negative and complaint
            fp += negative and not complaint
            fn += complaint and not negative
        return tp / (tp + fp), tp / (tp + fn)

    _, bare_recall = precision_recall(BARE)
    precision, recall = precision_recall(DEFAULTS)
    assert precision >= 0.85
    assert recall - bare_recall >= 0.20


def test_scoring_compiles_no_pattern_once_the_engine_is_built() -> None:
    # Compiling a regex per combination of rules a text might fire cost ~1 s per process.
    engine_for(True, ())
    compiled = _bounded.cache_info().currsize
    for _, text in complaint_rows():
        DEFAULTS.score(text)
    assert _bounded.cache_info().currsize == compiled


def test_a_brand_complaint_phrase_scores_negative() -> None:
    scorer = Scorer(complaint_phrases={"battery drain": -2.0})
    assert DEFAULTS.score("battery drain").label == "neutral"
    assert scorer.score("battery drain").label == "negative"


def test_brand_complaint_phrases_go_with_the_complaint_layer() -> None:
    scorer = Scorer(complaint_phrases={"battery drain": -2.0}, complaints=False)
    assert scorer.score("battery drain").label == "neutral"


@pytest.mark.parametrize("text", ["where is our technician?", "where's my update"])
def test_where_is_my_rule_fires_on_asking_after_a_reply_or_visit(text: str) -> None:
    assert "where_is_my" in rules_fired(text)


def test_the_plan_cache_stops_growing_at_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "_MAX_PLANS", 3)
    engine = Scorer(lexicon={"zqxcap": -1.0}).engine
    words = ["still", "why", "never", "when", "please", "where", "again", "since"]
    for a, b in itertools.pairwise(words):
        engine._candidates(f"{a} {b}")
    assert len(engine._plans) == 3
    assert engine._candidates("still why") == engine._candidates("why still")
