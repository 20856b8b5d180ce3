"""The client's I/O-free parts: the watch state's seq filter and close codes, error
answers, what is retried, finding a list from what was typed, how changes read."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub.client import _calls as calls
from hub.client import output
from hub.client._watch import WatchState
from hub.client.errors import ApiError, ClientError, Conflict, Forbidden, Unauthorized
from hub.client.resolve import find_list
from hub.client.sync import run
from hub.client.types import Change, List


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


def _list(list_id: str, name: str) -> List:
    return {"id": list_id, "name": name, "role": "owner", "members": []}


def test_a_list_is_found_by_id_then_name_then_id_prefix() -> None:
    """An exact id wins, then a case-insensitive name, then a unique start of an id;
    an ambiguous name or prefix and an unknown one are one-line ClientErrors."""
    a = _list("aaaa1111-0000-0000-0000-000000000000", "Groceries")
    b = _list("aaab2222-0000-0000-0000-000000000000", "aaaa")
    c = _list("cccc3333-0000-0000-0000-000000000000", "groceries")
    assert find_list([a, b], a["id"]) is a
    assert find_list([a, b], "  GROCERIES ") is a
    assert find_list([a, b], "aaaa") is b
    assert find_list([a, b], "aaab") is b
    for typed, words in (("groceries", "2 lists are named"), ("aa", "2 lists have an id"),
                         ("zz", "no list is named 'zz'"), (" ", "empty")):
        with pytest.raises(ClientError, match=words) as refused:
            find_list([a, b, c], typed)
        assert "\n" not in str(refused.value)


def test_list_changes_read_as_one_line() -> None:
    """A list change names the list, the reader's role and the members; a removal its
    reason; a todo change where the todo is."""
    members = [{"user": {"id": "u1", "username": "ann"}, "role": "owner"},
               {"user": {"id": "u2", "username": "bob"}, "role": "viewer"}]
    joined: Change = {"seq": 7, "op": "list", "origin": {"device": "rest"},
                      "list": {"id": "l1", "name": "Food", "role": "viewer",
                               "members": members}}  # type: ignore[typeddict-item]
    assert output.change_line(joined, {}) == (
        "7 list Food: you are viewer; members ann owner, bob viewer  (from rest)")
    gone: Change = {"seq": 8, "op": "list_removed", "list": {"id": "l1"}, "reason": "left",
                    "origin": {"device": "phone"}}
    assert output.change_line(gone, {"l1": "Food"}) == "8 list_removed Food: gone (left)  " \
        "(from phone)"
    made: Change = {"seq": 9, "op": "create", "origin": {"device": "d"},
                    "todo": {"id": "abcdef123", "title": "Milk", "list_id": "l1"}}
    assert output.change_line(made, {"l1": "Food"}) == "9 create [ ] abcdef12  Milk  " \
        "in Food  (from d)"


def test_an_invitation_is_given_by_token_or_link_and_blocking_calls_never_suspend() -> None:
    """accept and preview take the token or the whole link; the blocking driver refuses an
    awaitable that waits on an event loop instead of blocking."""
    assert calls.accept("https://hub/#/invite/tok-1").body == {"token": "tok-1"}
    assert calls.preview(" tok-2 ").body == {"token": "tok-2"}
    assert calls.get("a/b").path == "/api/todos/a%2Fb"

    async def waits() -> None:
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="waited on the event loop"):
        run(waits())
