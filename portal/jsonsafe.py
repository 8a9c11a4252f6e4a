"""JSON from clients, parsed with a bound on nesting.

``[`` repeated 50,000 times makes the standard parser (or the first recursive walk
over its result) raise ``RecursionError``, which would end as a 500. Every JSON a
client sends goes through ``loads`` instead, which turns that into a ``ValueError``
with a plain reason, like any other malformed body. So is text with an unpaired
surrogate (``"\\ud800"`` is valid JSON but no valid text: it cannot be stored or mailed).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class TooDeep(ValueError):
    """Valid JSON, or so it seems, but nested beyond MAX_DEPTH."""


def loads(text: str | bytes) -> Any:
    """Parse ``text``; ``ValueError`` when it is not JSON, ``TooDeep`` (a ValueError) when
    it nests deeper than MAX_DEPTH."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"it nests deeper than {MAX_DEPTH} levels") from None
    if _depth(value) > MAX_DEPTH:
        raise TooDeep(f"it nests deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """The nesting depth of lists and objects, walked without recursion; raises
    ``ValueError`` for a string (or key) with an unpaired surrogate on the way."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            raise ValueError("a text contains an unpaired surrogate (\\ud800-\\udfff)")
        if isinstance(item, dict):
            item = [*item.keys(), *item.values()]
        if isinstance(item, list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in item)
    return deepest
