"""The rules that keep hostile input out, tested as plain functions: text, nesting, numbers,
times, whole numbers in text and close reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hub import protocol
from hub.errors import HubError
from hub.rest.common import whole_number
from storage.clock import format_time, parse_moment
from storage.errors import CommandRejected
from storage.types import find_bad_text, parse_op, text_problem


@pytest.mark.parametrize("text", ["a\ud800b", "\udfff", "\ud83d", "a\x00b"])
def test_text_that_cannot_be_stored_or_sent_is_refused(text: str) -> None:
    """Lone surrogates and U+0000 break the text rule; they are found with their path."""
    assert text_problem(text) is not None
    bad = find_bad_text({"ops": [{"todo": {"tags": ["ok", text]}}]})
    assert bad is not None and bad["field"] == "ops.0.todo.tags.1"
    key = find_bad_text({"todo": {text: 1}})
    assert key is not None and key["field"].startswith("todo.") and "\\u" in key["field"]


@pytest.mark.parametrize("text", ["", "plain", "é", "\U0001f600", "\u2028", "\ufeff", "\t\n"])
def test_valid_text_passes(text: str) -> None:
    """Every Unicode scalar value but U+0000 is text, raw or escaped (json.dumps writes the
    emoji as the escaped surrogate pair \\ud83d\\ude00, which decodes to one character)."""
    for frame in (json.dumps({"t": text}), json.dumps({"t": text}, ensure_ascii=False)):
        assert protocol.load_json(frame) == {"t": text}


def test_client_json_is_utf8_and_bounded_in_depth() -> None:
    """Bytes that are not UTF-8 (an encoded surrogate included) and nesting past MAX_DEPTH
    are bad_request; nesting up to MAX_DEPTH is read; escaped surrogates are validation."""
    for raw in (b'{"a":"\xed\xa0\x80"}', b'{"a":"\xff"}', b"[" * 5000 + b"]" * 5000,
                "[" * (protocol.MAX_DEPTH + 1) + "]" * (protocol.MAX_DEPTH + 1),
                '{"a":' + "1" * 5000 + "}"):
        with pytest.raises(HubError) as refused:
            protocol.load_json(raw)
        assert refused.value.code == "bad_request"
    deepest = "[" * protocol.MAX_DEPTH + "]" * protocol.MAX_DEPTH
    assert protocol.load_json(deepest) is not None
    assert protocol.load_json(b"\xef\xbb\xbf{}") == {}
    with pytest.raises(HubError) as bad_text:
        protocol.load_json('{"title":"a\\ud800b"}')
    assert bad_text.value.code == "validation"
    assert bad_text.value.details == [{"field": "title",
                                       "reason": "must be valid Unicode text (no lone "
                                                 "surrogates)"}]


@pytest.mark.parametrize(("op", "field"), [
    ({"type": "create", "todo": {"title": "x", "order": 10**400}}, "todo.order"),
    ({"type": "create", "todo": {"title": "x", "order": float("inf")}}, "todo.order"),
    ({"type": ["create"], "todo": {"title": "x"}}, "type"),
    ({"type": {"a": 1}}, "type"),
    ({"type": "update", "todo_id": "0" * 32, "patch": {}, "if_version": 2**63}, "if_version"),
    ({"type": "delete", "todo_id": "١" * 32}, "todo_id"),
    ({"type": "create", "todo": {"title": "x", "due_at": "9999-12-31T23:59:59-05:00"}},
     "todo.due_at"),
])
def test_odd_operations_are_validation_errors(op: dict[str, object], field: str) -> None:
    """Numbers beyond a float or a 64-bit integer, an op type that is not a string, digits
    of other scripts in a UUID and times out of range are validation errors naming the
    field."""
    with pytest.raises(CommandRejected) as refused:
        parse_op(op)
    assert refused.value.code == "validation"
    assert (refused.value.details or [{}])[0]["field"] == field


def test_times_have_four_digit_years_and_a_range() -> None:
    """Every time is written with a four-digit year; a time outside 0001-9999 in UTC is
    refused with the reason."""
    assert format_time(datetime(99, 6, 1, tzinfo=UTC)) == "0099-06-01T00:00:00.000Z"
    assert format_time(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    assert parse_moment("0001-01-01T00:00:00-05:00") == "0001-01-01T05:00:00.000Z"
    assert parse_moment("9999-12-31T23:59:59.999+00:00") == "9999-12-31T23:59:59.999Z"
    for text in ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"):
        with pytest.raises(ValueError, match="0001-9999"):
            parse_moment(text)
    with pytest.raises(ValueError, match="time zone"):
        parse_moment("2026-11-23T08:00:00")


@pytest.mark.parametrize("raw", ["²", "①", "١", " 4", "4_0", "+4", "-4", "4.0", "",
                                 "9" * 20, "0x10"])
def test_whole_numbers_in_text_are_ascii_digits(raw: str) -> None:
    """int() takes some of these and str.isdigit() others; the hub takes neither."""
    with pytest.raises(HubError) as refused:
        whole_number(raw, "page", 1, 1, 1_000_000)
    assert refused.value.code == "validation"
    assert whole_number("42", "page", 1, 1, 1_000_000) == 42
    assert whole_number(None, "page", 7, 1, 1_000_000) == 7


def test_close_reasons_fit_a_close_frame() -> None:
    """A close reason is cut to 123 bytes of UTF-8, never inside a character."""
    reason = protocol.close_reason("é" * 300)
    assert len(reason.encode()) <= 123 and set(reason) == {"é"}
    assert protocol.close_reason("a\ud800b") == "a?b"


def test_hello_protocol_must_be_the_integer_one() -> None:
    """1.0, true and "1" are not protocol 1."""
    assert protocol.protocol_supported(1)
    assert not any(protocol.protocol_supported(v) for v in (1.0, True, "1", None, 2))
