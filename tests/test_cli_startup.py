"""`monitor check` and `--help` stay light: they import no HTTP client, feed parser, store,
sentiment model or chart library (issue 10: start-up under 4x `python -c pass`).

Structural, not timed: the real command runs in a fresh interpreter, and the test reads which
modules were loaded once it finished (sys.modules sees imports made by any route, importlib
included, which `python -X importtime` does not report).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "httpx",
    "feedparser",
    "sqlite_utils",
    "vaderSentiment",
    "matplotlib",
    "prometheus_client",
    "psycopg",
    "psycopg_pool",
)
RUN_THEN_LIST_MODULES = """
import json, runpy, sys
sys.argv = ["monitor", *sys.argv[1:]]
try:
    runpy.run_module("monitor.cli", run_name="__main__")
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def packages_loaded_by(*args: str) -> set[str]:
    """Top-level packages loaded by one real `monitor` run in its own interpreter."""
    run = subprocess.run(
        [sys.executable, "-c", RUN_THEN_LIST_MODULES, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(run.stderr.splitlines()[-1])
    return {name.split(".")[0] for name in modules}


def test_check_imports_no_http_feed_store_sentiment_or_chart_library() -> None:
    loaded = packages_loaded_by("-c", str(ROOT / "monitor.example.yaml"), "check")
    assert "yaml" in loaded  # the config was really read
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_no_http_feed_store_sentiment_or_chart_library() -> None:
    loaded = packages_loaded_by("--help")
    assert "click" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
