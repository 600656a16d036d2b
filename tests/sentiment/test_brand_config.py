"""A brand's `complaint_phrases` in the YAML: read, and checked like `lexicon`."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config


def _config(tmp_path: Path, phrases: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(
        f"brands:\n  - name: Acme\n    terms: [acme]\n    complaint_phrases: {phrases}\n",
        encoding="utf-8",
    )
    return path


def test_complaint_phrases_are_read_per_brand(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '{"out of stock": -2}'))
    assert config.brands[0].complaint_phrases == {"out of stock": -2.0}


def test_a_complaint_phrase_valence_outside_vaders_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"complaint_phrases\.out of stock.*outside -4\.\.\+4"):
        load_config(_config(tmp_path, '{"out of stock": -7}'))


def test_a_complaint_phrase_valence_must_be_a_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="complaint_phrases"):
        load_config(_config(tmp_path, '{"out of stock": bad}'))
