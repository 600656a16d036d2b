"""VADER sentiment with a customer-service layer: a complaint lexicon and phrase rules.

VADER reads feelings; customers often complain in facts ("on hold for 40 minutes", "still no
refund", "package never arrived"), which VADER scores neutral. The layer adds, on VADER's own
valence scale (-4..+4):

- words from ``complaints.yaml`` merged into VADER's lexicon, so VADER's negation, intensifier,
  caps and "but" handling apply to them as to its own words;
- multi-word phrases from the same file: each matched span is replaced by one synthetic lexicon
  token, so the phrase's valence stands for the whole span ("customer care" is 0, not "care");
- phrase rules (``rules.py``): each hit inserts a synthetic token in front of the words it
  matched and keeps those words, so VADER still reads them too. The token is read at its own
  valence (``vader.py``): a rule has read its own negation, so VADER's look-back must not flip it.

A brand's ``lexicon`` overrides win over all of it (multi-word keys override phrases), and
``complaints=False`` turns the layer off.

Modules, down the pipeline: ``fragments`` → ``rules`` → ``lexicon`` → ``vader`` → ``engine``
(matching and rewriting) → ``scorer`` (the public ``Scorer``).
"""

from monitor.sentiment.engine import Hit
from monitor.sentiment.fragments import Rule
from monitor.sentiment.lexicon import COMPLAINTS_FILE, ComplaintLexicon, load_complaints
from monitor.sentiment.rules import RULES
from monitor.sentiment.scorer import Scorer

__all__ = [
    "COMPLAINTS_FILE",
    "RULES",
    "ComplaintLexicon",
    "Hit",
    "Rule",
    "Scorer",
    "load_complaints",
]
