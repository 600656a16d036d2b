"""`monitor demo`: the real daemon finds the scripted spike and prints the alert on its own."""

from __future__ import annotations

import io
from pathlib import Path

from monitor.demo import run_demo


def test_demo_prints_the_spike_alert_a_summary_and_a_digest_preview(tmp_path: Path) -> None:
    alerts = io.StringIO()
    lines: list[str] = []
    assert run_demo(echo=lines.append, stream=alerts, deadline=20, preview_dir=tmp_path) == 0
    assert "Negative spike: Brightwave" in alerts.getvalue()
    summary = "\n".join(lines)
    assert "Mentions ingested: 264" in summary
    assert "critical" in summary or "warning" in summary
    assert f"{tmp_path / 'digest.html'}" in summary
    assert "Brightwave" in (tmp_path / "digest.html").read_text()
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
