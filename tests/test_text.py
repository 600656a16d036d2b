"""monitor.text: the plain text every adapter makes of a stranger's markup."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.models import Mention
from monitor.text import cap_text, valid_utf8


def test_cap_text_cuts_text_holding_a_lone_surrogate_without_raising() -> None:
    capped = cap_text("a" * 9 + "\ud83d" + "b" * 10, limit=12)
    assert capped == "a" * 9 + "\ud83d"


def test_cap_text_never_splits_a_character() -> None:
    assert cap_text("ab€", limit=4) == "ab"


def test_cap_text_keeps_text_of_exactly_the_limit_in_four_byte_characters() -> None:
    emoji = "😀" * 25  # 100 bytes in 25 characters
    assert cap_text(emoji, limit=100) == emoji
    assert cap_text(emoji + "😀", limit=100) == emoji
    assert cap_text(emoji, limit=99) == "😀" * 24


def test_cap_text_cuts_ascii_text_at_the_limit() -> None:
    assert cap_text("a" * 101, limit=100) == "a" * 100


def test_valid_utf8_keeps_ascii_text_as_it_is() -> None:
    assert (
        valid_utf8("plain ascii, with \\ud83d written out")
        == "plain ascii, with \\ud83d written out"
    )


def test_valid_utf8_replaces_each_lone_surrogate_with_the_replacement_character() -> None:
    assert valid_utf8("x\ud83dy\udc00") == "x\ufffdy\ufffd"
    assert valid_utf8("fine 😀").encode("utf-8") == "fine 😀".encode()


def test_a_mention_holds_only_text_that_encodes_as_utf8() -> None:
    mention = Mention(
        channel="hackernews",
        native_id="1\ud800",
        url="https://e.example/\udfff",
        author="n\udc00me",
        text="broken \ud83d emoji",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    for value in (mention.native_id, mention.url, mention.author, mention.text):
        value.encode("utf-8")
    assert mention.text == "broken \ufffd emoji"
