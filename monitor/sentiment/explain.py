"""Why a text scored as it did: every word VADER counted, each rule and phrase that fired.

Users tune a brand's ``lexicon`` and ``complaint_phrases`` with this (``monitor score``). The
valences shown are what each word added to VADER's sum, after its negation, booster, caps and
"but" rules; the compound is that sum normalised (plus punctuation emphasis).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass

from monitor.models import Label
from monitor.sentiment.scorer import Scorer


@dataclass(frozen=True, slots=True)
class Effect:
    """One word, rule or phrase that moved the score, and by how much (VADER's -4..+4 scale)."""

    kind: str  # "word", "rule", "phrase" or "emoji"
    name: str  # the word, the rule's name, or the phrase
    text: str  # the words of the text it stands for
    valence: float
    source: str  # "VADER", "complaints.yaml", "brand lexicon", "brand complaint_phrases"


@dataclass(frozen=True, slots=True)
class Explanation:
    text: str
    compound: float
    label: Label
    vader_alone: float  # the compound with the complaint layer and the brand's lexicon off
    effects: tuple[Effect, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def explain(scorer: Scorer, text: str) -> Explanation:
    engine = scorer.engine
    tokens = engine.token_names()
    emoji = {token: e for e, token in engine.emoji_tokens.items()}
    hits = iter(engine.hits(text))
    effects = []
    rewritten, analyzer = engine.reading(text)
    for word, valence in analyzer.word_valences(rewritten):
        name = tokens.get(word.lower())
        if word.lower() in emoji:
            effects.append(
                Effect("emoji", emoji[word.lower()], word, float(valence), "complaints.yaml")
            )
        elif name is not None:
            # Tokens stand in the text in the order their hits were found, one each.
            hit = next(hits, None)
            kind = "rule" if name in engine.rule_tokens else "phrase"
            source = engine.origins.get(name, "complaints.yaml")
            matched = hit.text if hit is not None else name
            effects.append(Effect(kind, name, matched, float(valence), source))
        elif valence:
            source = engine.origins.get(word.lower(), "VADER")
            effects.append(Effect("word", word.lower(), word, float(valence), source))
    score = scorer.score(text)
    alone = Scorer(complaints=False).score(text).compound
    return Explanation(text, score.compound, score.label, alone, tuple(effects))


def for_terminal(text: str) -> str:
    """Control and format characters (ESC, bidi overrides, CR) shown as escapes, not obeyed."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") and c != "\t" else c
        for c in text
    )


def render(explanation: Explanation) -> str:
    """The explanation for a terminal: every user-supplied string escaped."""
    e = explanation
    lines = [
        f"text:     {for_terminal(e.text)}",
        f"compound: {e.compound:+.4f}  ({e.label}; VADER alone {e.vader_alone:+.4f})",
    ]
    if e.effects:
        lines.append("moved by:")
        for effect in e.effects:
            what = f"{effect.kind} {effect.name}"
            if effect.kind in ("rule", "phrase"):
                what += f' ("{effect.text}")'
            lines.append(f"  {effect.valence:+6.2f}  {for_terminal(what)}  [{effect.source}]")
    else:
        lines.append("moved by: nothing (no word VADER or the complaint layer scores)")
    return "\n".join(lines)
