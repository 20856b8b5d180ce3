"""The client's I/O-free parts: the watch state's seq filter and close codes, error
answers, what is retried."""

from __future__ import annotations

import json

import pytest

from hub.client import _calls as calls
from hub.client._watch import WatchState
from hub.client.errors import ApiError, Conflict, Forbidden, Unauthorized


def _change(seq: int) -> str:
    return json.dumps({"type": "change", "seq": seq, "op": "create", "todo": {"id": "x"}})


def test_watch_resumes_after_the_last_change_and_drops_repeats() -> None:
    """A change at or below the last seq seen is dropped; hello carries the last seq."""
    state = WatchState("thp_x", since=None, device="d")
    assert json.loads(state.hello())["since"] is None
    assert state.receive(json.dumps({"type": "snapshot", "seq": 4, "todos": [],
                                     "more": False})) == []
    assert state.receive(json.dumps({"type": "synced", "seq": 4})) == []
    assert state.last == 4 and state.synced
    assert [c["seq"] for c in state.receive(_change(5))] == [5]
    assert json.loads(state.hello())["since"] == 5 and not state.synced
    assert state.receive(_change(5)) == [] and state.receive(_change(4)) == []
    assert [c["seq"] for c in state.receive(_change(6))] == [6]


def test_watch_refuses_a_snapshot_after_a_since_and_fatal_close_codes() -> None:
    """A snapshot for a since means changes were lost from the log: Conflict. 4401 is
    Unauthorized, 4400 and 4409 ApiError; a restart (1012) or a drop (None) reconnects."""
    state = WatchState("thp_x", since=3)
    with pytest.raises(Conflict):
        state.receive(json.dumps({"type": "snapshot", "seq": 9, "todos": [], "more": False}))
    with pytest.raises(Unauthorized):
        state.closed(4401, "revoked")
    for code in (4400, 4409):
        with pytest.raises(ApiError):
            state.closed(code, "")
    for again in (1012, 1013, 1006, None):
        state.closed(again, "")


def test_error_answers_and_what_is_retried() -> None:
    """An error body becomes the code's class; 503, 429 and an in-flight 409 are retried,
    a real conflict and a 403 are not."""
    body = json.dumps({"error": {"code": "forbidden", "message": "read only"}}).encode()
    error = calls.error_of(403, {}, body)
    assert isinstance(error, Forbidden) and error.code == "forbidden" and error.status == 403
    assert calls.error_of(502, {}, b"<html>").code == "internal"
    assert calls.should_retry(503, {}) and calls.should_retry(429, {"retry-after": "1"})
    assert calls.should_retry(409, {"retry-after": "1"})
    assert not calls.should_retry(409, {}) and not calls.should_retry(403, {})
    assert calls.ws_url("https://hub.example/") == "wss://hub.example/ws"
    first, again = calls.create({"title": "x"}), calls.create({"title": "x"})
    assert first.key != again.key and first.headers("t")["Idempotency-Key"] == first.key
