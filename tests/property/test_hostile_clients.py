"""Generated frames and REST requests against a live hub: every one gets a coded answer, the
socket stays open, nothing is logged as a bug, and a second user's writes at the same time
are all applied."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote

from hypothesis import assume, given
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from storage import types
from tests.client import Device
from tests.property import strategies as gen
from tests.property.conftest import CONTRACT_CODES, Arena, answer_to

ANSWERS = ("ack", "error", "pong", "auth_ok")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def _send(device: Device, data: bytes) -> None:
    """As a text frame when it is UTF-8 (invalid UTF-8 there rightly closes 1007), otherwise
    as a binary frame, which the hub reads as UTF-8 text."""
    await device.ws.send(data.decode("utf-8") if _is_utf8(data) else data)


def _check_error(frame: dict[str, Any], also: frozenset[str] | set[str] = frozenset()) -> None:
    assert frame["code"] in CONTRACT_CODES | also, frame
    assert isinstance(frame["message"], str) and frame["message"], frame
    for detail in frame.get("details", []):
        assert set(detail) == {"field", "reason"}, frame
        assert isinstance(detail["field"], str) and isinstance(detail["reason"], str), frame


@given(draw=st.data())
async def test_every_frame_gets_one_coded_answer(arena: Arena, draw: st.DataObject) -> None:
    """Commands, auth, ping, a second hello and frames that are not even objects, each field
    valid or hostile: exactly one ack, error (with a contract code), pong or auth_ok each,
    on a socket that stays open."""
    settings = arena.hub.settings
    frame = draw.draw(st.one_of(gen.command(arena.known_ids, settings.max_batch),
                                gen.other_frame(arena.token)), label="frame")
    data = gen.render(frame)
    assume(len(data) <= settings.max_frame)
    device = arena.attacker
    start = len(device.frames)
    calm = await arena.bystander_writes()
    await _send(device, data)
    probe = gen.fresh_id()
    await device.send({"type": "delete", "id": probe, "todo_id": str(uuid.uuid4())})
    assert (await answer_to(device, probe))["code"] == "not_found"
    answers = [f for f in device.frames[start:]
               if f.get("type") in ANSWERS and f.get("id") != probe]
    assert len(answers) == 1, (data[:300], answers)
    if answers[0]["type"] == "error":
        _check_error(answers[0])
    assert not device.closed.done()
    await arena.bystander_acked(calm)
    assert arena.hub.log.tracebacks() == [], data[:300]


@given(draw=st.data())
async def test_every_hello_is_welcomed_or_closed_with_a_hello_code(
    arena: Arena, draw: st.DataObject
) -> None:
    """A generated first frame on a new socket either starts a session (welcome, synced) or
    closes it with 4400, 4401 or 4409: never 1006 or 1011."""
    settings = arena.hub.settings
    frame = draw.draw(st.one_of(gen.hello(arena.token), gen.hello(arena.token),
                                gen.other_frame(arena.token)), label="first frame")
    data = gen.render(frame)
    assume(len(data) <= settings.max_frame)
    calm = await arena.bystander_writes()
    device = Device(await connect(arena.hub.ws_url, open_timeout=15))
    try:
        await _send(device, data)
        async with asyncio.timeout(15):
            while not device.closed.done() and not any(
                    f.get("type") == "synced" for f in device.frames):
                device._arrived.clear()
                await device._arrived.wait()
        if device.closed.done():
            code = device.closed.result()[0]
            assert code in (4400, 4401, 4409), (code, data[:300])
        else:
            assert device.frames[0]["type"] == "welcome", device.frames[:1]
    finally:
        await device.close()
    await arena.bystander_acked(calm)
    assert arena.hub.log.tracebacks() == [], data[:300]


def _query(params: dict[str, Any]) -> str:
    """A query string of any text, surrogates included (percent-encoded bytes)."""
    parts = []
    for name, value in params.items():
        raw = value if isinstance(value, str) else str(value)
        parts.append(quote(name.encode("utf-8", "surrogatepass"), safe="") + "="
                     + quote(raw.encode("utf-8", "surrogatepass"), safe=""))
    return "&".join(parts)


_header_text = st.one_of(
    st.sampled_from(["4", '"4"', "W/\"1\"", "²", "①", "١", "1_0", "9" * 40, "-1", "",
                     "é" * 70, "0x10"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_characters="\x7f"),
            max_size=70),
).map(lambda text: text.encode("utf-8").strip(b" \t"))  # HTTP trims them anyway
_query_names = st.one_of(st.sampled_from([
    "status", "completed", "priority", "tag", "q", "due_before", "due_after", "overdue", "sort",
    "page", "per_page", "since", "limit", "wait"]), gen.any_text)
_query_values = st.one_of(gen.edge_text, st.integers().map(str),
                          st.sampled_from(["0", "1", "true", "-title", "9" * 25]))


def _requests(arena: Arena) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    todo_path = st.one_of(st.sampled_from(arena.known_ids), gen.any_text, st.uuids().map(str)
                          ).map(lambda text: "/api/todos/" + quote(
                              text.encode("utf-8", "surrogatepass"), safe=""))
    headers = st.fixed_dictionaries({}, optional={"If-Match": _header_text,
                                                  "Idempotency-Key": _header_text})
    body = gen.todo_body(types.TodoIn, arena.known_ids)
    patch = gen.todo_body(types.TodoPatch, arena.known_ids)
    batch = st.one_of(
        st.fixed_dictionaries({"ops": st.lists(gen.operation(arena.known_ids), max_size=5)}),
        gen.hostile)
    params = st.dictionaries(_query_names, _query_values, max_size=4).map(_query)
    names = st.one_of(st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=3,
                              max_size=12), gen.edge_text)
    credentials = st.fixed_dictionaries({}, optional={
        "username": gen.maybe_hostile(names), "password": gen.maybe_hostile(
            st.sampled_from(["Correct-horse-1", "short", "password1"])),
        "email": gen.maybe_hostile(st.emails())}) | gen.hostile
    refresh_body = st.fixed_dictionaries({}, optional={
        "refresh_token": gen.maybe_hostile(st.text(max_size=60))}) | gen.hostile
    auth_post = st.one_of(
        st.tuples(st.sampled_from(["/api/auth/register", "/api/auth/login"]),
                  credentials.map(gen.render)),
        st.tuples(st.sampled_from(["/api/auth/refresh", "/api/auth/logout"]),
                  refresh_body.map(gen.render)),
    ).map(lambda pair: ("POST", pair[0], {"content": pair[1], "headers": {
        "Authorization": b"Bearer not-a-token"}}))
    return st.one_of(
        auth_post,
        st.tuples(st.just("POST"), st.just("/api/todos"),
                  st.fixed_dictionaries({"content": body.map(gen.render), "headers": headers})),
        st.tuples(st.just("PATCH"), todo_path,
                  st.fixed_dictionaries({"content": patch.map(gen.render), "headers": headers})),
        st.tuples(st.just("DELETE"), todo_path, st.fixed_dictionaries({"headers": headers})),
        st.tuples(st.just("GET"), todo_path, st.just({})),
        st.tuples(st.just("POST"), st.just("/api/todos/batch"),
                  st.fixed_dictionaries({"content": batch.map(gen.render),
                                         "headers": headers})),
        st.tuples(st.just("GET"), params.map(lambda q: "/api/todos?" + q), st.just({})),
        st.tuples(st.just("GET"), params.map(lambda q: "/api/changes?" + q), st.just({})),
    )


@given(draw=st.data())
async def test_every_rest_request_gets_a_contract_answer(
    arena: Arena, draw: st.DataObject
) -> None:
    """Generated bodies, headers, paths and query parameters: a success, or a 4xx with the
    contract's error body; never a 5xx."""
    method, url, options = draw.draw(_requests(arena), label="request")
    calm = await arena.bystander_writes()
    answer = await arena.http.request(method, url, **options)
    assert answer.status_code < 500, (method, url, options, answer.text)
    if answer.status_code >= 400:
        # A run of failed logins is rightly limited (429).
        _check_error(answer.json()["error"], also={"rate_limited"})
    elif answer.status_code != 204:
        assert isinstance(answer.json(), dict)
    await arena.bystander_acked(calm)
    assert arena.hub.log.tracebacks() == [], (method, url, options)
