"""`explain` and `monitor score`: what moved a text's score, safe to print."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import main
from monitor.sentiment import Scorer
from monitor.sentiment.explain import explain, render

BRAND_CONFIG = (
    "brands:\n  - name: Acme\n    terms: [acme]\n    lexicon: {acme: 1.5}\n"
    '    complaint_phrases: {"battery drain": -2}\n'
)


def test_explain_names_the_rule_that_fired_and_its_effect() -> None:
    result = explain(Scorer(), "still no refund")
    [rule] = [e for e in result.effects if e.kind == "rule"]
    assert (rule.name, rule.text, rule.valence) == ("still_no", "still no", -2.2)


def test_explain_lists_vader_words_with_their_valences() -> None:
    result = explain(Scorer(), "The food was VERY bad")
    assert [(e.name, e.source) for e in result.effects] == [("bad", "VADER")]
    assert result.effects[0].valence < -2.5  # "very" and the caps strengthen it


def test_explain_marks_brand_lexicon_and_brand_phrase_entries() -> None:
    scorer = Scorer(lexicon={"acme": 1.5}, complaint_phrases={"battery drain": -2.0})
    sources = {e.name: e.source for e in explain(scorer, "acme battery drain").effects}
    assert sources == {"acme": "brand lexicon", "battery drain": "brand complaint_phrases"}


def test_explain_compound_and_label_are_the_scorers() -> None:
    scorer = Scorer()
    text = "on hold for 40 minutes but the agent was lovely"
    result = explain(scorer, text)
    assert (result.compound, result.label) == (
        scorer.score(text).compound,
        scorer.score(text).label,
    )


def test_render_escapes_terminal_control_sequences() -> None:
    shown = render(explain(Scorer(), "bad \x1b[2J\x1b]0;pwned\x07 \u202e"))
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\u001b[2J" in shown


def test_score_command_prints_what_moved_the_text() -> None:
    result = CliRunner().invoke(main, ["score", "still no refund"])
    assert result.exit_code == 0, result.output
    assert "negative" in result.output
    assert "rule still_no" in result.output


def test_score_command_json_uses_the_brands_entries(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(BRAND_CONFIG, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["-c", str(config), "score", "--brand", "acme", "--json", "acme battery drain"]
    )
    assert result.exit_code == 0, result.output
    effects = json.loads(result.output)["effects"]
    assert {e["name"]: e["source"] for e in effects} == {
        "acme": "brand lexicon",
        "battery drain": "brand complaint_phrases",
    }


def test_score_command_names_the_brands_when_one_is_unknown(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(BRAND_CONFIG, encoding="utf-8")
    result = CliRunner().invoke(main, ["-c", str(config), "score", "--brand", "acme2", "hi"])
    assert result.exit_code != 0
    assert "the brands are Acme" in result.output


def test_explain_lists_an_emoji_from_the_valence_table() -> None:
    effects = explain(Scorer(), "thanks for nothing 😡").effects
    assert [(e.kind, e.name) for e in effects] == [
        ("phrase", "thanks for nothing"),
        ("emoji", "😡"),
    ]
