"""Shared test fixtures: real payload files, fixed clocks, config files in tmp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_path(*parts: str) -> Path:
    return FIXTURES.joinpath(*parts)


def real_hn_hits() -> list[dict[str, Any]]:
    """Every distinct hit recorded from hn.algolia.com in fixtures.json, newest first."""
    entries = json.loads(fixture_path("hn_algolia", "fixtures.json").read_text())
    hits: dict[str, dict[str, Any]] = {}
    for entry in entries:
        reply = entry["reply"]
        if isinstance(reply, dict):
            for hit in reply.get("hits", []):
                hits[hit["objectID"]] = hit
    return sorted(hits.values(), key=lambda h: -h["created_at_i"])


def algolia_page(hits: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
    # hitsPerPage=0 asks only for nbHits, as Algolia allows.
    pages = (len(hits) + per_page - 1) // per_page if per_page else 0
    return {
        "hits": hits[page * per_page : (page + 1) * per_page],
        "nbHits": len(hits),
        "page": page,
        "nbPages": pages,
        "hitsPerPage": per_page,
        "processingTimeMS": 1,
    }


def slack_texts(payload: dict[str, Any]) -> list[str]:
    """Every string Slack would parse as text in the payload, fallback included."""
    found: list[str] = [payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["blocks"])
    return found


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FixedClock:
    # Just after the newest recorded HN hit (2014-06-20).
    return FixedClock(datetime(2014, 6, 21, 12, 0, tzinfo=UTC))


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "monitor.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
