"""Frames to types and back, without a socket."""

from __future__ import annotations

import json

import pytest

from hub import protocol
from hub.errors import HubError
from hub.ratelimit import TokenBucket
from hub.websocket import origin_allowed
from storage.types import CreateOp


def test_hello_is_parsed_and_checked() -> None:
    """A valid hello becomes a Hello; a wrong one raises with field details."""
    hello = protocol.parse_hello('{"type":"hello","protocol":1,"token":"t","device":"d",'
                                 '"since":4}')
    assert hello == protocol.Hello(1, "t", "d", 4)
    with pytest.raises(HubError) as bad:
        protocol.parse_hello('{"type":"hello","protocol":1,"token":"","device":"","since":-1}')
    assert {d["field"] for d in bad.value.details or []} == {"token", "device", "since"}


def test_commands_parse_into_typed_operations() -> None:
    """A create frame becomes a Command with a validated CreateOp."""
    command = protocol.parse_frame(
        '{"type":"create","id":"a","todo":{"title":"  x  ","tags":["B","b"]}}', 100)
    assert command.op_id == "a" and isinstance(command.ops[0], CreateOp)  # type: ignore[union-attr]
    assert command.ops[0].todo.title == "x"  # type: ignore[union-attr]
    assert command.ops[0].todo.tags == ["b"]  # type: ignore[union-attr]


def test_bad_frames_raise_coded_errors_with_the_id() -> None:
    """Unknown types are bad_request; invalid fields are validation; the id is kept."""
    with pytest.raises(protocol.CommandError) as unknown:
        protocol.parse_frame('{"type":"nope","id":"z"}', 100)
    assert unknown.value.op_id == "z" and unknown.value.error.code == "bad_request"
    with pytest.raises(HubError):
        protocol.parse_frame("{", 100)


def test_events_are_compact_json() -> None:
    """Events encode once to compact JSON text."""
    text = protocol.ack("op", {"seq": 3, "todo": {"id": "x"}}, duplicate=True)
    assert json.loads(text) == {"type": "ack", "id": "op", "seq": 3, "todo": {"id": "x"},
                                "duplicate": True}
    assert " " not in text


def test_token_bucket() -> None:
    """Buckets refill with time."""
    now = [0.0]
    bucket = TokenBucket(rate=1, burst=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 1.0
    assert bucket.take()


def test_origin_rules() -> None:
    """No Origin, the hub's own host and configured origins pass; others do not."""
    allowed = frozenset({"https://app.example"})
    assert origin_allowed(None, "h:1", allowed)
    assert origin_allowed("http://h:1", "h:1", allowed)
    assert origin_allowed("https://app.example/", "h:1", allowed)
    assert not origin_allowed("https://evil.example", "h:1", allowed)
