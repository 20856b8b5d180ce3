"""JSON encoding shared by the change log and the answers it stores."""

from __future__ import annotations

import json
from typing import Any

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact JSON text."""
    return _encoder.encode(value)


def loads(text: str | bytes) -> Any:
    """Parse JSON text."""
    return json.loads(text)
