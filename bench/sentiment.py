"""Sentiment before and after the complaint layer: VADER alone vs VADER with our defaults.

Prints Pearson r against the human means of VADER's own ground truth (tweets, amazon snippets),
negative precision / recall / F1 on the complaint dev set (all rows, and the tune and holdout
halves apart: the lexicon and rules were written by reading the tune half only), and the scoring
rate of both on the same texts in the same run.

    python bench/sentiment.py            # figures
    python bench/sentiment.py --misses   # plus the dev texts the defaults still get wrong
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.sentiment import Scorer

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
TWEETS = FIXTURES / "sentiment" / "tweets_GroundTruth.txt"
AMAZON = FIXTURES / "sentiment" / "amazonReviewSnippets_GroundTruth.txt"
COMPLAINTS = FIXTURES / "complaints" / "complaints_dev.tsv"


@dataclass(frozen=True, slots=True)
class Rated:
    """A ground-truth line: the mean human rating (-4..+4) and the text."""

    mean: float
    text: str


@dataclass(frozen=True, slots=True)
class Labelled:
    """A dev-set line: is it a complaint, which half it is in, and the text."""

    complaint: bool
    split: str
    text: str


@dataclass(frozen=True, slots=True)
class Metrics:
    precision: float
    recall: float
    f1: float
    n: int


def _lines(path: Path) -> Iterable[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line


def load_ground_truth(path: Path) -> list[Rated]:
    rows = []
    for line in _lines(path):
        _id, mean, text = line.split("\t", 2)
        rows.append(Rated(float(mean), text))
    return rows


def load_complaints(path: Path = COMPLAINTS) -> list[Labelled]:
    rows = []
    for line in _lines(path):
        _id, complaint, _domain, split, text = line.split("\t", 4)
        rows.append(Labelled(complaint == "1", split, text))
    return rows


def pearson(scorer: Scorer, rows: Sequence[Rated]) -> float:
    return statistics.correlation(
        [r.mean for r in rows], [scorer.score(r.text).compound for r in rows]
    )


def negative_metrics(scorer: Scorer, rows: Sequence[Labelled]) -> Metrics:
    """A complaint scored negative is a hit; anything else scored negative is a false alarm."""
    tp = fp = fn = 0
    for row in rows:
        negative = scorer.score(row.text).label == "negative"
        tp += negative and row.complaint
        fp += negative and not row.complaint
        fn += row.complaint and not negative
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Metrics(precision, recall, f1, len(rows))


def seconds(scorer: Scorer, texts: Sequence[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        scorer.score(text)
    return time.perf_counter() - start


def rates(scorers: Sequence[Scorer], texts: Sequence[str], repeat: int) -> list[float]:
    """Texts per second of each scorer, best of `repeat` passes.

    Passes alternate between the scorers so both see the same machine load, and the best pass
    is the one least disturbed by anything else running.
    """
    best = [float("inf")] * len(scorers)
    for _ in range(repeat):
        for i, scorer in enumerate(scorers):
            best[i] = min(best[i], seconds(scorer, texts))
    return [len(texts) / b for b in best]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="timing passes per scorer")
    parser.add_argument("--misses", action="store_true", help="list dev texts still wrong")
    args = parser.parse_args(argv)

    tweets = load_ground_truth(TWEETS)
    amazon = load_ground_truth(AMAZON)
    dev = load_complaints()
    halves = {
        "all": dev,
        "tune": [r for r in dev if r.split == "tune"],
        "holdout": [r for r in dev if r.split == "holdout"],
    }
    before = Scorer(complaints=False)
    after = Scorer()

    print(f"{'':34}{'VADER alone':>14}{'with defaults':>16}")
    for name, rows in (("tweets", tweets), ("amazon", amazon)):
        label = f"Pearson r, {name} (n={len(rows)})"
        print(f"{label:34}{pearson(before, rows):>14.4f}{pearson(after, rows):>16.4f}")
    for half, rows in halves.items():
        b, a = negative_metrics(before, rows), negative_metrics(after, rows)
        print(f"complaints {half} (n={len(rows)})")
        for field in ("precision", "recall", "f1"):
            x, y = getattr(b, field), getattr(a, field)
            print(f"  negative {field:24}{x:>14.3f}{y:>16.3f}   ({100 * (y - x):+.1f} points)")

    texts = [r.text for r in tweets] + [r.text for r in amazon] + [r.text for r in dev]
    bare, ours = rates([before, after], texts, args.repeat)
    print(f"speed on {len(texts)} texts: VADER alone {bare:,.0f}/s, with defaults {ours:,.0f}/s")
    print(f"speed ratio (defaults / VADER alone): {ours / bare:.2f}x")

    if args.misses:
        print("\ncomplaints the defaults still score non-negative (compound, text):")
        for row in dev:
            score = after.score(row.text)
            if row.complaint and score.label != "negative":
                print(f"  [{row.split}] {score.compound:+.3f}  {row.text}")
        print("\nnon-complaints the defaults score negative (compound, VADER alone, rules, text):")
        for row in dev:
            score = after.score(row.text)
            if not row.complaint and score.label == "negative":
                hits = ", ".join(h.name for h in after.hits(row.text)) or "-"
                vader = before.score(row.text).compound
                print(f"  [{row.split}] {score.compound:+.3f} {vader:+.3f} {hits}  {row.text}")


if __name__ == "__main__":
    main()
