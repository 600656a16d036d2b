"""monitor.yaml_parse: libyaml's speed, PyYAML's values and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.yaml_parse import safe_load

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_config_parses_to_what_pyyaml_makes_of_it() -> None:
    text = (ROOT / "monitor.example.yaml").read_text(encoding="utf-8")
    assert safe_load(text) == yaml.safe_load(text)


def test_yaml_1_1_scalars_keep_pyyaml_types() -> None:
    text = "on: yes\nhex: 0x1F\nday: 2024-01-01\nsexagesimal: 12:30\nnothing: ~\n"
    assert safe_load(text) == yaml.safe_load(text)


def test_a_tab_is_named_in_the_error_as_pyyaml_words_it() -> None:
    with pytest.raises(yaml.YAMLError, match="found character '\\\\t' that cannot start any token"):
        safe_load("brands:\n\t- name: Acme\n")


def test_an_error_keeps_its_line_and_column() -> None:
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        safe_load("a: 1\nb: [1, 2\n")
    assert caught.value.problem_mark is not None
    assert (caught.value.problem_mark.line, caught.value.problem_mark.column) == (2, 0)


def test_python_tags_stay_refused() -> None:
    with pytest.raises(yaml.constructor.ConstructorError):
        safe_load("x: !!python/object/apply:os.system [echo hi]\n")
