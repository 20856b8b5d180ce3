"""storage.codec: compact JSON that reads back as what was written, for any JSON value,
including what the fast encoder refuses (integers beyond 64 bits, lone surrogates)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from storage.codec import dumps, loads

SCALARS = (st.none() | st.booleans() | st.integers() | st.text()
           | st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


@given(VALUES)
def test_any_value_reads_back_as_written(value: Any) -> None:
    """What dumps writes, the standard parser reads back equal, and it is compact."""
    text = dumps(value)
    assert json.loads(text) == value
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False) or any(
        isinstance(v, float) for v in _leaves(value))


def test_what_the_fast_encoder_refuses_is_still_written() -> None:
    """Integers beyond 64 bits and lone surrogates are written as the standard encoder
    writes them; the order of keys is kept."""
    assert dumps({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert dumps(["\ud800"]) == '["\ud800"]'
    assert loads(dumps({"b": 1, "a": [True, None, "é"]})) == {"b": 1, "a": [True, None, "é"]}
    assert dumps({"b": 1, "a": "é"}) == '{"b":1,"a":"é"}'


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
