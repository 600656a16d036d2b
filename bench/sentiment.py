"""Sentiment before and after the complaint layer: VADER alone vs VADER with our defaults.

Prints, for VADER alone and with the defaults:
- Pearson r against the human means of VADER's own ground truth (tweets, Amazon snippets);
- negative precision / recall / F1 on two development sets, each split into a tune half (the
  lexicon and rules were written by reading it) and a held-out half (never read):
  customer-service tweets labelled complaint / not (complaints_dev.tsv), and Amazon review
  snippets from another domain (negative = human mean rating <= -0.5 on -4..+4);
- speed on short texts (the tweets), in the same run, interleaved, median of 3: stock
  vaderSentiment, our VADER with the layer off, and with the defaults; a 10 KB mention; and the
  cold first pass of a fresh process (which pays for loading and compiling);
- with --pool, the process pool's throughput against one process.

    python bench/sentiment.py            # figures
    python bench/sentiment.py --misses   # plus the TUNE-half texts the defaults still get wrong
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.sentiment import Scorer  # noqa: E402
from monitor.sentiment.pool import ScorerSpec, score_texts  # noqa: E402
from monitor.sentiment.vader import Vader  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
TWEETS = FIXTURES / "sentiment" / "tweets_GroundTruth.txt"
AMAZON = FIXTURES / "sentiment" / "amazonReviewSnippets_GroundTruth.txt"
COMPLAINTS = FIXTURES / "complaints" / "complaints_dev.tsv"
AMAZON_NEGATIVE = -0.5  # a human mean at or below this is a negative review snippet


@dataclass(frozen=True, slots=True)
class Rated:
    """A ground-truth line: its id, the mean human rating (-4..+4) and the text."""

    id: str
    mean: float
    text: str


@dataclass(frozen=True, slots=True)
class Labelled:
    """A dev-set line: is it negative (a complaint), which half it is in, and the text."""

    negative: bool
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
        id_, mean, text = line.split("\t", 2)
        rows.append(Rated(id_, float(mean), text))
    return rows


def load_complaints(path: Path = COMPLAINTS) -> list[Labelled]:
    rows = []
    for line in _lines(path):
        _id, complaint, _domain, split, text = line.split("\t", 4)
        rows.append(Labelled(complaint == "1", split, text))
    return rows


def split_of(id_: str) -> str:
    """The half a row is in: the parity of the first byte of sha256(id), as complaints_dev.tsv."""
    return "tune" if hashlib.sha256(id_.encode()).digest()[0] % 2 == 0 else "holdout"


def load_reviews(path: Path = AMAZON) -> list[Labelled]:
    return [
        Labelled(r.mean <= AMAZON_NEGATIVE, split_of(r.id), r.text) for r in load_ground_truth(path)
    ]


def pearson(scorer: Scorer, rows: Sequence[Rated]) -> float:
    return statistics.correlation(
        [r.mean for r in rows], [scorer.score(r.text).compound for r in rows]
    )


def negative_metrics(scorer: Scorer, rows: Sequence[Labelled]) -> Metrics:
    """A negative row scored negative is a hit; anything else scored negative is a false alarm."""
    tp = fp = fn = 0
    for row in rows:
        negative = scorer.score(row.text).label == "negative"
        tp += negative and row.negative
        fp += negative and not row.negative
        fn += row.negative and not negative
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Metrics(precision, recall, f1, len(rows))


def seconds(score: Callable[[str], object], texts: Sequence[str]) -> float:
    """CPU seconds of this process: the machine is shared, and wall time counts others' work."""
    start = time.process_time()
    for text in texts:
        score(text)
    return time.process_time() - start


def rates(
    scorers: Sequence[Callable[[str], object]], texts: Sequence[str], repeat: int
) -> list[float]:
    """Texts per second of each scorer, median of `repeat` passes, interleaved.

    Passes alternate between the scorers so all see the same machine load.
    """
    passes: list[list[float]] = [[] for _ in scorers]
    for _ in range(repeat):
        for i, score in enumerate(scorers):
            passes[i].append(seconds(score, texts))
    return [len(texts) / statistics.median(p) for p in passes]


def cold_seconds(complaints: bool, repeat: int) -> float:
    """Median CPU time of a fresh process importing, building a Scorer and scoring the dev set."""
    code = (
        "import sys, time; t = time.process_time(); sys.path.insert(0, sys.argv[1]);"
        "from bench.sentiment import load_complaints; from monitor.sentiment import Scorer;"
        f"s = Scorer(complaints={complaints}); [s.score(r.text) for r in load_complaints()];"
        "print(time.process_time() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code, str(ROOT)], check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(repeat)
    ]
    return statistics.median(runs)


def long_text(rows: Sequence[Rated], size: int = 10_240) -> str:
    text = ""
    for row in rows:
        text += row.text + " "
        if len(text) >= size:
            return text
    return text


def report_sets(
    before: Scorer, after: Scorer, sets: dict[str, list[Labelled]], halves: Sequence[str]
) -> None:
    for name, rows in sets.items():
        for half in halves:
            part = [r for r in rows if r.split == half]
            b, a = negative_metrics(before, part), negative_metrics(after, part)
            print(f"{name} {half} (n={len(part)}, negative {sum(r.negative for r in part)})")
            for field in ("precision", "recall", "f1"):
                x, y = getattr(b, field), getattr(a, field)
                print(f"  negative {field:24}{x:>14.3f}{y:>16.3f}   ({100 * (y - x):+.1f} points)")


def report_speed(tweets: list[Rated], repeat: int) -> None:
    stock, vader = SentimentIntensityAnalyzer(), Vader()
    layer_off, defaults = Scorer(complaints=False), Scorer()
    texts = [r.text for r in tweets]
    bare, fast, off, ours = rates(
        [stock.polarity_scores, vader.polarity_scores, layer_off.score, defaults.score],
        texts,
        repeat,
    )
    print(
        f"\nspeed on {len(texts)} short texts (tweets), median of {repeat}, interleaved, "
        f"load average {os.getloadavg()[0]:.1f}:"
    )
    print(
        f"  stock vaderSentiment {bare:,.0f}/s, our Vader {fast:,.0f}/s (same scores), "
        f"Scorer layer off {off:,.0f}/s, defaults {ours:,.0f}/s"
    )
    print(
        f"  ratio our Vader / stock VADER: {fast / bare:.2f}x   defaults / stock VADER: "
        f"{ours / bare:.2f}x   defaults / layer off: {ours / off:.2f}x"
    )
    layer_us, vader_us = 1e6 / ours - 1e6 / off, 1e6 / fast
    print(
        f"  complaint layer per text (defaults - layer off): {layer_us:.1f} us, "
        f"{layer_us / vader_us:.2f}x our Vader's {vader_us:.1f} us"
    )
    text = long_text(tweets)
    long_rates = rates([stock.polarity_scores, defaults.score], [text], repeat)
    print(
        f"  one {len(text):,}-char text: stock {1000 / long_rates[0]:.0f} ms, defaults {1000 / long_rates[1]:.0f} ms"
    )
    cold_off, cold_on = cold_seconds(False, repeat), cold_seconds(True, repeat)
    print(
        f"  fresh process, import + build + score the complaint set once: layer off {cold_off:.2f} s, defaults {cold_on:.2f} s"
    )


def report_pool(tweets: list[Rated], repeat: int) -> None:
    texts = [r.text for r in tweets] * 5
    spec = ScorerSpec()
    scorer = Scorer()
    one: list[float] = []
    pooled: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        [scorer.score(t) for t in texts]
        one.append(time.perf_counter() - start)
        start = time.perf_counter()
        score_texts(spec, texts)
        pooled.append(time.perf_counter() - start)
    a, b = len(texts) / statistics.median(one), len(texts) / statistics.median(pooled)
    print(
        f"\npool on {len(texts)} texts, {os.cpu_count()} cores, median of {repeat} (pool start-up included):"
    )
    print(f"  one process {a:,.0f}/s, pool {b:,.0f}/s, ratio {b / a:.2f}x")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timing passes per scorer")
    parser.add_argument("--misses", action="store_true", help="list tune-half texts still wrong")
    parser.add_argument("--pool", action="store_true", help="also time the process pool")
    parser.add_argument("--no-speed", action="store_true", help="quality figures only")
    parser.add_argument(
        "--tune-only", action="store_true", help="hide the held-out halves (while writing rules)"
    )
    args = parser.parse_args(argv)

    tweets = load_ground_truth(TWEETS)
    amazon = load_ground_truth(AMAZON)
    sets = {"complaints": load_complaints(), "amazon": load_reviews()}
    before = Scorer(complaints=False)
    after = Scorer()

    print(f"{'':34}{'VADER alone':>14}{'with defaults':>16}")
    for name, rated in (("tweets", tweets), ("amazon", amazon)):
        label = f"Pearson r, {name} (n={len(rated)})"
        print(f"{label:34}{pearson(before, rated):>14.4f}{pearson(after, rated):>16.4f}")
    report_sets(before, after, sets, ("tune",) if args.tune_only else ("tune", "holdout"))
    if not args.no_speed:
        report_speed(tweets, args.repeat)
    if args.pool:
        report_pool(tweets, args.repeat)

    if args.misses:
        for name, rows in sets.items():
            tune = [r for r in rows if r.split == "tune"]
            print(f"\n{name} tune: negatives the defaults score non-negative (compound, text):")
            for row in tune:
                score = after.score(row.text)
                if row.negative and score.label != "negative":
                    print(f"  {score.compound:+.3f}  {row.text}")
            print(
                f"\n{name} tune: non-negatives scored negative (compound, VADER alone, rules, text):"
            )
            for row in tune:
                score = after.score(row.text)
                if not row.negative and score.label == "negative":
                    hits = ", ".join(h.name for h in after.hits(row.text)) or "-"
                    vader = before.score(row.text).compound
                    print(f"  {score.compound:+.3f} {vader:+.3f} {hits}  {row.text}")


if __name__ == "__main__":
    main()
