"""`monitor demo`: the real daemon finds the scripted spike and prints the alert on its own."""

from __future__ import annotations

import io

from monitor.demo import run_demo


def test_demo_prints_the_spike_alert_and_a_summary() -> None:
    alerts = io.StringIO()
    lines: list[str] = []
    assert run_demo(echo=lines.append, stream=alerts, deadline=20) == 0
    assert "Negative spike: Brightwave" in alerts.getvalue()
    summary = "\n".join(lines)
    assert "Mentions ingested: 264" in summary
    assert "critical" in summary or "warning" in summary
