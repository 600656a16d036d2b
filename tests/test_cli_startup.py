"""`monitor check` stays light: validating a config imports no HTTP client, feed parser, store,
sentiment model or chart library (issue 10: start-up under 4x `python -c pass`).

Structural, not timed: the real command runs in a subprocess under `python -X importtime`, and
the modules it loaded are read from that report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("httpx", "feedparser", "sqlite_utils", "vaderSentiment", "matplotlib")


def imported_packages(*args: str) -> set[str]:
    """Top-level packages a real `monitor` run imported, from its -X importtime report."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitor.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def test_check_imports_no_http_feed_store_sentiment_or_chart_library() -> None:
    loaded = imported_packages("-c", str(ROOT / "monitor.example.yaml"), "check")
    assert "monitor" in loaded  # the report was read
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_no_http_feed_store_sentiment_or_chart_library() -> None:
    loaded = imported_packages("--help")
    assert "click" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
