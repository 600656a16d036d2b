"""The complaint lexicon file: words, phrases and rule valences, read and checked once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from monitor.sentiment.rules import RULES

COMPLAINTS_FILE = Path(__file__).with_name("complaints.yaml")
MAX_VALENCE = 4.0


@dataclass(frozen=True, slots=True)
class ComplaintLexicon:
    """What complaints.yaml holds, validated: valences on VADER's -4..+4 scale."""

    words: Mapping[str, float]
    phrases: Mapping[str, float]
    rules: Mapping[str, float]
    emoji: Mapping[str, float] = field(default_factory=dict)
    hashtag_words: frozenset[str] = frozenset()
    courtesy: frozenset[str] = frozenset()


def _valences(path: Path, section: str, raw: object) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: `{section}` must be a mapping of text to valence")
    out: dict[str, float] = {}
    for key, value in raw.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"{path}: {section}.{key}: valence must be a number, got {value!r}")
        if not -MAX_VALENCE <= value <= MAX_VALENCE:
            raise ValueError(f"{path}: {section}.{key}: valence {value} is outside -4..+4")
        out[normal(str(key))] = float(value)
    return out


def normal(phrase: str) -> str:
    return " ".join(phrase.lower().split())


@cache
def load_complaints(path: Path = COMPLAINTS_FILE) -> ComplaintLexicon:
    """Read and check the complaint lexicon once per process."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with words, phrases and rules")
    words = _valences(path, "words", raw.get("words"))
    phrases = _valences(path, "phrases", raw.get("phrases"))
    rules = _valences(path, "rules", raw.get("rules"))
    if bad := [w for w in words if " " in w]:
        raise ValueError(f"{path}: words.{bad[0]}: has a space; move it under `phrases`")
    if unknown := sorted(set(rules) - set(RULES)):
        known = ", ".join(RULES)
        raise ValueError(f"{path}: rules.{unknown[0]}: no such rule; the rules are {known}")
    emoji = _valences(path, "emoji", raw.get("emoji"))
    if bad := [e for e in emoji if e.isascii()]:
        raise ValueError(f"{path}: emoji.{bad[0]}: not an emoji; put words under `words`")
    hashtag_words, courtesy = (
        _word_list(path, raw, "hashtag_words"),
        _word_list(path, raw, "courtesy"),
    )
    return ComplaintLexicon(words, phrases, rules, emoji, hashtag_words, courtesy)


def _word_list(path: Path, raw: dict[str, object], section: str) -> frozenset[str]:
    words = raw.get(section) or ""
    if not isinstance(words, str):
        raise ValueError(f"{path}: `{section}` must be one string of space-separated words")
    return frozenset(words.lower().split())
