"""Texts with human labels, shared by the sentiment tests (origins in tests/fixtures/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="session")
def ground_truth_texts() -> list[str]:
    """Every text of VADER's tweet and Amazon-snippet ground truth."""
    return [
        row[2]
        for name in ("tweets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt")
        for row in _rows(FIXTURES / "sentiment" / name)
    ]


@pytest.fixture(scope="session")
def complaint_texts() -> list[str]:
    """Every text of the customer-service complaint set."""
    return [row[4] for row in _rows(FIXTURES / "complaints" / "complaints_dev.tsv")]
