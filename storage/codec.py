"""JSON encoding shared by the change log and the answers it stores."""

from __future__ import annotations

import json
from typing import Any

import orjson

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # What orjson refuses and the standard encoder writes: integers beyond 64 bits,
        # strings with lone surrogates, keys that are not strings.
        return _encoder.encode(value)


def loads(text: str | bytes) -> Any:
    """Parse JSON text."""
    return json.loads(text)
