"""`monitor demo`: the real daemon finds the scripted spike and prints the alert on its own."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest

from monitor.demo import run_demo


def test_demo_prints_the_spike_alert_a_summary_and_a_digest_preview(tmp_path: Path) -> None:
    alerts = io.StringIO()
    lines: list[str] = []
    assert run_demo(echo=lines.append, stream=alerts, deadline=20, preview_dir=tmp_path) == 0
    assert "Negative spike: Brightwave" in alerts.getvalue()
    summary = "\n".join(lines)
    assert re.search(r"Mentions ingested: \d+", summary)
    assert "critical" in summary or "warning" in summary
    assert f"{tmp_path / 'digest.html'}" in summary
    html = (tmp_path / "digest.html").read_text()
    assert "Brightwave" in html
    # The last complete week of the scripted history, not the week now under way.
    assert "week so far" not in html
    assert "not yet" not in (tmp_path / "digest.txt").read_text()
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_demo_without_keep_leaves_nothing_in_the_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lines: list[str] = []
    assert run_demo(echo=lines.append, stream=io.StringIO(), deadline=20) == 0
    assert list(tmp_path.iterdir()) == []
    assert "monitor demo --keep" in "\n".join(lines)
