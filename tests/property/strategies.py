"""Hypothesis strategies for client frames and REST bodies, built from the protocol's own
models: every field of every frame, each either a valid value or a hostile one (wrong types,
edge strings with surrogates and control characters, huge numbers, deep nesting), plus
unknown fields.

A generated value is rendered to JSON text by :func:`render`, which can also write what
``json.dumps`` cannot: numbers beyond a float or with thousands of digits, nesting deeper
than Python's recursion limit, and bytes that are not UTF-8.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from hub import protocol
from storage import types

# -- values the renderer writes verbatim -------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is: a number json.dumps would not write, or deep nesting."""

    text: str


@dataclass(frozen=True)
class RawBytes:
    """Bytes written as is inside a string: perhaps not UTF-8 at all."""

    data: bytes


def render(value: Any) -> bytes:
    """``value`` as JSON bytes (surrogates and control characters escaped as JSON does)."""
    out: list[bytes] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
        elif isinstance(item, Raw):
            out.append(item.text.encode())
        elif isinstance(item, RawBytes):
            out.append(b'"' + item.data + b'"')
        elif isinstance(item, dict):
            parts: list[Any] = [b"{"]
            for index, (key, child) in enumerate(item.items()):
                if index:
                    parts.append(b",")
                parts += [json.dumps(key).encode(), b":", child]
            parts.append(b"}")
            stack.extend(reversed(parts))
        elif isinstance(item, list):
            parts = [b"["]
            for index, child in enumerate(item):
                if index:
                    parts.append(b",")
                parts.append(child)
            parts.append(b"]")
            stack.extend(reversed(parts))
        elif isinstance(item, float) and not math.isfinite(item):
            out.append(json.dumps(item).encode())  # NaN / Infinity, which Python reads
        else:
            out.append(json.dumps(item).encode())
    return b"".join(out)


# -- hostile leaves ------------------------------------------------------------------------

EDGE_STRINGS = [
    "", " ", "\t\n", "\x00", "a\x00b", "\ud800", "a\udfffb", "\udbff\udc00", "\ufeff",
    "\u2028", "\u202e", "\uffff", "\U0010ffff", "²", "①", "١٢", "½", "Ⅻ", "9" * 30, "-1",
    "1e400", "NaN", "é" * 300, "x" * 70, "x" * 5001, "<script>", "'; drop table todos; --",
    "%", "_", "\\", '"', "null", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
    "0099-06-01T00:00:00Z", "2026-11-23T08:00:00", "2026-02-30T00:00:00Z",
]

any_text = st.text(st.characters(exclude_categories=()), max_size=40)
edge_text = st.one_of(st.sampled_from(EDGE_STRINGS), any_text)
huge_numbers = st.sampled_from([
    Raw("1e400"), Raw("-1e400"), Raw("9" * 400), Raw("1" * 5000), Raw("1E+999"),
    Raw("-0"), Raw("0.0000000000000000000000000001"), Raw("NaN"), Raw("Infinity"),
    Raw("-Infinity"), 2**63, 2**63 - 1, -(2**63) - 1, 2**64, -1, 0,
])
numbers = st.one_of(st.integers(), st.floats(), huge_numbers)


def _deep(depth: int, kind: str) -> Raw:
    return Raw(("[" * depth + "]" * depth) if kind == "list"
               else ('{"a":' * depth + "1" + "}" * depth))


deep = st.builds(_deep, st.sampled_from([8, 31, 33, 100, 999, 5000, 20000]),
                 st.sampled_from(["list", "dict"]))
leaves = st.one_of(st.none(), st.booleans(), numbers, edge_text,
                   st.builds(RawBytes, st.sampled_from([b"\xff", b"\xed\xa0\x80", b"a\xc3"])))
# Two levels of containers (deeper nesting is what ``deep`` is for).
_shallow = st.one_of(leaves, st.lists(leaves, max_size=3),
                     st.dictionaries(edge_text, leaves, max_size=3))
hostile = st.one_of(leaves, deep, st.lists(_shallow, max_size=3),
                    st.dictionaries(edge_text, _shallow, max_size=3))
UNKNOWN_FIELDS = st.dictionaries(
    st.one_of(st.sampled_from(["colour", "id", "type", "__proto__", "\ud800"]), any_text),
    hostile, max_size=2)

# -- valid values, one table entry per field of the protocol's models ------------------------


def _choice(literal: Any) -> st.SearchStrategy[Any]:
    """One of the values of a Literal type of the models."""
    return st.sampled_from(typing.get_args(literal))


def _time() -> st.SearchStrategy[str]:
    return st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())


def todo_fields(known_ids: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    """A valid value for each field of a todo (TodoIn and TodoPatch)."""
    return {
        "id": st.one_of(st.uuids().map(str), st.sampled_from(known_ids)),
        "title": st.text(min_size=1, max_size=200).filter(str.strip),
        "description": st.one_of(st.none(), st.text(max_size=300)),
        "status": _choice(types.Status),
        "completed": st.booleans(),
        "priority": _choice(types.Priority),
        "due_at": st.one_of(st.none(), _time()),
        "tags": st.lists(st.text(min_size=1, max_size=50).filter(str.strip), max_size=10),
        "order": st.floats(allow_nan=False, allow_infinity=False),
    }


def maybe_hostile(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, valid, hostile)


def _fields_of(model: type[Any], valid: dict[str, st.SearchStrategy[Any]]
               ) -> st.SearchStrategy[dict[str, Any]]:
    names = list(model.model_fields) if hasattr(model, "model_fields") else [
        f.name for f in dataclasses.fields(model)]
    missing = set(names) - set(valid)
    assert not missing, f"no valid values for {model.__name__} fields {sorted(missing)}"
    return st.fixed_dictionaries({}, optional={
        name: maybe_hostile(valid[name]) for name in names}).flatmap(
        lambda fields: UNKNOWN_FIELDS.map(lambda extra: {**extra, **fields})
        | st.just(fields))


def todo_body(model: type[Any], known_ids: list[str]) -> st.SearchStrategy[Any]:
    """A todo (TodoIn) or patch (TodoPatch) object, or something else in its place."""
    return maybe_hostile(_fields_of(model, todo_fields(known_ids)))


def op_values(known_ids: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    """A valid value for each field of the operations (CreateOp, UpdateOp, DeleteOp)."""
    todo_id = st.one_of(st.sampled_from(known_ids), st.uuids().map(str),
                        st.uuids().map(lambda u: str(u).upper()))
    return {
        "todo": todo_body(types.TodoIn, known_ids),
        "patch": todo_body(types.TodoPatch, known_ids),
        "todo_id": todo_id,
        "if_version": st.integers(0, 5),
    }


def operation(known_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """One operation of any type the models know, with any of its fields."""
    values = op_values(known_ids)

    def of(kind: str, model: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
        fields = {name: values[name] for name in model.model_fields if name != "type"}
        kind_value = maybe_hostile(st.just(kind))
        return st.fixed_dictionaries({"type": kind_value}, optional={
            name: maybe_hostile(v) for name, v in fields.items()})

    return st.one_of(*(of(kind, model) for kind, model in types.OP_MODELS.items()))


op_ids = st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=64), hostile)


def command(known_ids: list[str], max_batch: int) -> st.SearchStrategy[dict[str, Any]]:
    """A create, update, delete or batch frame (valid or not in any field)."""
    batch = st.fixed_dictionaries({"type": st.just("batch")}, optional={
        "id": op_ids,
        "ops": maybe_hostile(st.lists(maybe_hostile(operation(known_ids)), min_size=1,
                                       max_size=min(max_batch, 6))),
    })
    single = operation(known_ids).flatmap(
        lambda op: op_ids.map(lambda op_id: {"id": op_id, **op}))
    return st.one_of(single, batch).flatmap(
        lambda frame: UNKNOWN_FIELDS.map(lambda extra: {**extra, **frame}) | st.just(frame))


def other_frame(token: str) -> st.SearchStrategy[Any]:
    """auth, ping, a second hello, unknown types and frames that are not objects."""
    auth = _fields_of(protocol.Auth, {"token": st.sampled_from([token, "garbage", ""])}).map(
        lambda fields: {"type": "auth", **fields})
    ping = _fields_of(protocol.Ping, {}).flatmap(lambda fields: st.fixed_dictionaries(
        {"type": st.just("ping")}, optional={"id": op_ids}).map(lambda f: {**fields, **f}))
    return st.one_of(auth, ping, hello(token), hostile,
                     st.fixed_dictionaries({"type": hostile}, optional={"id": op_ids}))


def hello(token: str) -> st.SearchStrategy[dict[str, Any]]:
    """A hello frame with every field of protocol.Hello, valid (the real token) or not."""
    valid: dict[str, st.SearchStrategy[Any]] = {
        "protocol": st.just(protocol.PROTOCOL_VERSION),
        "token": st.just(token),
        "device": st.text(min_size=1, max_size=64),
        "since": st.one_of(st.none(), st.integers(0, 10)),
    }
    return st.fixed_dictionaries({"type": maybe_hostile(st.just("hello"))}).flatmap(
        lambda head: _fields_of(protocol.Hello, valid).map(lambda rest: {**head, **rest}))


def fresh_id() -> str:
    """An operation id that no generated frame uses."""
    return f"probe-{uuid.uuid4()}"
