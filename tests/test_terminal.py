"""safe_for_terminal: strangers' text printed without escapes, controls or bidi tricks."""

from __future__ import annotations

import pytest

from monitor.terminal import safe_for_terminal


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("before\x1b[2J\x1b[Hafter", "beforeafter"),  # clear screen, cursor home
        ("see \x1b]8;;http://evil.example/\x1b\\docs\x1b]8;;\x1b\\ now", "see docs now"),
        ("title\x1b]0;pwned\x07 end", "title end"),
        ("cut off \x1b]8;;http://evil.example/", "cut off "),  # OSC without its terminator
        ("\x9b31mred\x9b0m", "red"),  # 8-bit CSI
        ("\x1bPdevice control\x1b\\text", "text"),
        ("reset\x1bc", "reset"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u2066isolated\u2069 \u200bzero\u200dwidth\ufeff", "isolated zerowidth"),
        ("nul\x00bell\x07del\x7fc1\x85", "nulbelldelc1"),
    ],
)
def test_sequences_controls_and_invisible_characters_are_removed(hostile: str, shown: str) -> None:
    assert safe_for_terminal(hostile) == shown


def test_ordinary_text_tabs_and_newlines_are_kept() -> None:
    text = "Ça coûte 10 € — 中文 😀\tcolumn\nnext line"
    assert safe_for_terminal(text) == text


def test_line_separators_become_newlines() -> None:
    assert safe_for_terminal("one\u2028two\u2029three") == "one\ntwo\nthree"
