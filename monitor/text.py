"""Plain text from the markup strangers write: HTML stripped, entities decoded, size capped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_TEXT_BYTES = 10 * 1024

_BLOCK_TAGS = {
    "p",
    "br",
    "div",
    "li",
    "blockquote",
    "pre",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
_SKIP_TAGS = {"script", "style"}
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skipping:
            self._skipping -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """Strip tags and decode entities; keep paragraph breaks as single blank lines."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return cap_text(markup.strip())
    parser = _Extractor()
    parser.feed(markup)
    parser.close()
    # convert_charrefs already decoded every entity once: "&amp;#38;" is the text "&#38;".
    text = "".join(parser.parts)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text).strip()
    return cap_text(text)


def cap_text(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """Cut text to at most `limit` UTF-8 bytes without splitting a character.

    Lone surrogates pass through (counted as the 3 bytes U+FFFD will take): Mention replaces
    them, once, for every adapter.
    """
    if len(text) * 4 <= limit:  # no character takes more than 4 bytes: nothing to cut
        return text
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    cut = limit
    while cut and encoded[cut] & 0xC0 == 0x80:  # a continuation byte: back to the char's start
        cut -= 1
    return encoded[:cut].decode("utf-8", "surrogatepass")


_SURROGATES = re.compile("[\ud800-\udfff]")


def valid_utf8(text: str) -> str:
    """Text any UTF-8 encoder accepts: JSON's "\\ud83d" escapes can decode to lone surrogates."""
    if text.isascii():  # O(1) in CPython, and most text is: the pattern need not scan it
        return text
    return _SURROGATES.sub("\ufffd", text)


def clean_field(text: str) -> str:
    """Valid UTF-8 without NUL, as every stored text field is: NUL means nothing in text, and
    PostgreSQL refuses it (failing a whole transaction)."""
    if text.isascii() and "\0" not in text:  # both checks cost far less than a copy
        return text
    return valid_utf8(text).replace("\0", "")


def one_line(text: str, limit: int) -> str:
    """Collapse whitespace (CR/LF included) and cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
