"""JSON from files and answers we do not control, at a bounded depth.

``json.loads`` recurses once per nesting level: a few kilobytes of ``[[[[…`` raise RecursionError in
it, and a document a little shallower than that crashes whatever walks it next (our contract, Keras
and torch readers all recurse). Every ``json.loads`` of hydro-ci goes through ``loads``, which refuses
more than ``MAX_DEPTH`` levels with ``JSONDepthError`` — a ``ValueError``, as any other malformed JSON,
so the callers' one ``except ValueError`` reports it as one located line.
"""

from __future__ import annotations

import json
from typing import Any

# Docker/OCI documents nest < 10 levels, contracts 2 per subfield level, Keras configs of nested
# models a few dozen; every walker over the result stays far below Python's recursion limit.
MAX_DEPTH = 200


class JSONDepthError(ValueError):
    """A JSON document nests deeper than we read."""


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(data)``, refused (``JSONDepthError``) when it nests deeper than ``max_depth``."""
    try:
        value = json.loads(data)
    except RecursionError:  # the C decoder stops cleanly at the interpreter's limit
        raise JSONDepthError(f"nested deeper than {max_depth} levels") from None
    if _deeper_than(value, max_depth):
        raise JSONDepthError(f"nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds containers nested more than ``limit`` deep: level by level, no recursion,
    holding one level's references at a time."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, dict | list)]
    return bool(level)
