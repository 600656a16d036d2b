"""A team's digest rendered for every medium into a folder, to look at before anyone gets it.

Sends nothing: `monitor digest --preview DIR` and the demo write these files.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from monitor.config import Config
from monitor.digest.build import build_digest
from monitor.digest.chart import render_chart
from monitor.models import Digest
from monitor.notify.email import CHART_FILE, render_html, render_text
from monitor.notify.slack import slack_message
from monitor.store import Store

HTML_FILE = "digest.html"
TEXT_FILE = "digest.txt"
SLACK_FILE = "slack.json"


def preview_digest(
    config: Config, store: Store, team: str, week: str, directory: Path, *, now: datetime
) -> list[Path]:
    """Write digest.html, digest.txt, chart.png and slack.json for the team's week; send nothing."""
    return write_preview(build_digest(config, store, team, week, now=now), directory)


def write_preview(d: Digest, directory: Path) -> list[Path]:
    """Write digest.html (chart referenced as chart.png beside it), digest.txt, chart.png (not
    for an empty week) and slack.json into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, str | bytes]] = [
        (HTML_FILE, render_html(d, chart_src=CHART_FILE)),
        (TEXT_FILE, render_text(d)),
    ]
    if not d.empty:
        files.append((CHART_FILE, render_chart(d)))
    files.append((SLACK_FILE, json.dumps(slack_message(d), indent=2, ensure_ascii=False) + "\n"))
    paths = []
    for name, content in files:
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return paths
