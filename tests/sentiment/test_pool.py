"""Scoring a batch in a process pool gives what scoring it in-process gives; a pool forks its
workers only from a process with no other thread."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from monitor.sentiment import Scorer
from monitor.sentiment.pool import ScorerSpec, score_texts, start_pool


def test_a_pooled_batch_scores_as_one_process_does(complaint_texts: list[str]) -> None:
    texts = complaint_texts[:400]
    pooled = score_texts(ScorerSpec(), texts, workers=2, threshold=10)
    assert pooled == [Scorer().score(text) for text in texts]


def test_a_pooled_batch_uses_the_brands_lexicon_and_thresholds() -> None:
    spec = ScorerSpec.of(
        lexicon={"acme": -3.0},
        complaint_phrases={"battery drain": -2.0},
        negative=-0.3,
        positive=0.3,
    )
    texts = ["acme", "battery drain again", "fine thanks", "acme is great"] * 5
    local = Scorer(
        lexicon={"acme": -3.0},
        complaint_phrases={"battery drain": -2.0},
        negative=-0.3,
        positive=0.3,
    )
    assert score_texts(spec, texts, workers=2, threshold=10) == [local.score(t) for t in texts]


def test_a_small_batch_scores_in_process_as_a_scorer_does() -> None:
    texts = ["still no refund", "love it"]
    assert score_texts(ScorerSpec(), texts) == [Scorer().score(t) for t in texts]


def test_a_pool_started_beside_another_thread_forks_its_workers_from_a_fork_server() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with start_pool(1, int, (), "monitor.sentiment.pool") as pool:
            parent = pool.submit(os.getppid).result()
    finally:
        stop.set()
        other.join()
    assert parent != os.getpid()


ALONE = """
import os
from monitor.sentiment.pool import start_pool
with start_pool(1, int, (), "monitor.sentiment.pool") as pool:
    print(pool.submit(os.getppid).result() == os.getpid())
"""


def test_a_pool_started_by_a_process_with_one_thread_forks_its_workers_itself() -> None:
    alone = subprocess.run(
        [sys.executable, "-c", ALONE], capture_output=True, text=True, check=True, timeout=60
    )
    assert alone.stdout.strip() == "True"
