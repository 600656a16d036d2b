"""Strangers' text made safe to print on a terminal: no escape sequences, controls or bidi tricks.

Any command that prints stored text (mentions, status, incidents, the console notifier) passes
it through `safe_for_terminal` first; a mention can otherwise clear the screen, plant a hidden
OSC 8 link, or reorder what the reader sees (U+202E, "Trojan Source").
"""

from __future__ import annotations

import re

# Whole sequences, so no "[2J" debris is left once ESC is gone: CSI (7- and 8-bit), OSC up to its
# terminator or the end of the text (a cut mention may lose it), DCS/SOS/PM/APC strings likewise,
# and the two-byte ESC forms.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
# C0 (tab and newline kept), DEL, C1; zero-width and direction marks U+200B-U+200F; bidi
# embeddings and overrides U+202A-U+202E; word joiner and invisible operators U+2060-U+2064;
# bidi isolates U+2066-U+2069 and deprecated format controls U+206A-U+206F; Arabic letter mark
# U+061C; Mongolian vowel separator U+180E; BOM / zero-width no-break space U+FEFF; and the
# interlinear annotation controls U+FFF9-U+FFFB.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
# Line and paragraph separators break a table row as a newline would.
_SEPARATORS = re.compile("[\u2028\u2029]")


def safe_for_terminal(text: str) -> str:
    """`text` without escape sequences, control characters, or invisible format characters."""
    return _INVISIBLE.sub("", _SEPARATORS.sub("\n", _SEQUENCES.sub("", text)))
