"""YAML text -> Python values, with libyaml's speed and PyYAML's error messages.

libyaml parses the example config about ten times faster than PyYAML's pure-Python parser,
which was the largest cost of `monitor check`. The values are the same; its error messages
are terser ("found character that cannot start any token" where PyYAML names the tab), so a
document libyaml rejects is parsed again by PyYAML for the error the user sees.
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def safe_load(text: str) -> Any:
    """As `yaml.safe_load(text)`, faster where PyYAML was built with libyaml."""
    if _FAST_LOADER is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)  # raises the same problem, in PyYAML's own words
