"""Hostile but well-formed input: refused with a coded answer, never a crash, and never felt by
another user."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.client import Device, register
from tests.servers import RunningHub

# json.dumps escapes a lone surrogate as \ud800 in the JSON text, as a hostile client would.
SURROGATE = "a\ud800b"
NUL = "a\x00b"
BAD = "<bad text>"


async def _device(hub: RunningHub, name: str = "dev") -> Device:
    tokens = await register(hub)
    return await Device.connect(hub, tokens["access_token"], name)


def _fill(value: Any, text: str) -> Any:
    """``value`` with every BAD (value or key) replaced by ``text``."""
    if isinstance(value, dict):
        return {(text if k == BAD else k): _fill(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, text) for v in value]
    return text if value == BAD else value


async def _answers(device: Device, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Wait for an ack or error of every id; returns them by id."""
    wanted = set(ids)
    async with asyncio.timeout(30):
        while True:
            got = {f["id"]: f for f in device.frames
                   if f.get("type") in ("ack", "error") and f.get("id") in wanted}
            if len(got) == len(wanted):
                return got
            if device.closed.done():
                raise AssertionError(f"socket closed {device.closed.result()}")
            device._arrived.clear()
            await device._arrived.wait()


async def test_a_surrogate_title_fails_no_bystander(hub: RunningHub) -> None:
    """200 commands of other users in flight while one client sends a title with a lone
    surrogate: the culprit gets validation naming the field, every bystander an ack."""
    bystanders = [await _device(hub, f"b{i}") for i in range(10)]
    attacker = await _device(hub, "attacker")
    sent: list[list[str]] = [[] for _ in bystanders]
    for round_ in range(20):
        for index, device in enumerate(bystanders):
            op_id = f"op-{round_}-{index}"
            sent[index].append(op_id)
            await device.send({"type": "create", "id": op_id, "todo": {"title": op_id}})
        if round_ in (5, 10, 15):
            await attacker.send({"type": "create", "id": f"bad-{round_}",
                                 "todo": {"title": SURROGATE}})
    for device, ids in zip(bystanders, sent, strict=True):
        answers = await _answers(device, ids)
        assert all(a["type"] == "ack" for a in answers.values()), [
            a for a in answers.values() if a["type"] != "ack"]
        titles = {c["todo"]["title"] for c in await device.wait_changes(len(ids))}
        assert titles == set(ids)
    bad = await _answers(attacker, ["bad-5", "bad-10", "bad-15"])
    for answer in bad.values():
        assert answer["code"] == "validation", answer
        assert answer["details"][0]["field"] == "todo.title", answer
    assert not attacker.closed.done()
    assert hub.log.tracebacks() == []
    for device in (*bystanders, attacker):
        await device.close()


async def test_surrogates_in_every_text_field_answer_validation(hub: RunningHub) -> None:
    """Title, description, tags, patches, batch ops, op ids and todo ids with a lone surrogate
    (or U+0000) each answer validation naming the field; the socket stays open."""
    device = await _device(hub)
    todo_id = (await device.create("base"))["todo"]["id"]
    frames: list[tuple[dict[str, Any], str]] = [
        ({"type": "create", "todo": {"title": "ok", "description": BAD}}, "todo.description"),
        ({"type": "create", "todo": {"title": "ok", "tags": ["x", BAD]}}, "todo.tags.1"),
        ({"type": "update", "todo_id": todo_id, "patch": {"title": BAD}}, "patch.title"),
        ({"type": "batch", "ops": [{"type": "update", "todo_id": todo_id,
                                    "patch": {"tags": [BAD]}}]}, "ops.0.patch.tags.0"),
        ({"type": "update", "todo_id": BAD, "patch": {}}, "todo_id"),
        ({"type": "create", "todo": {"title": "ok", "due_at": BAD}}, "todo.due_at"),
        ({"type": "create", "todo": {"title": "ok", BAD: 1}}, "todo.KEY"),
    ]
    for bad in (SURROGATE, NUL):
        for number, (template, field) in enumerate(frames):
            op_id = f"op-{number}"
            await device.send({"id": op_id, **_fill(template, bad)})
            answer = await device.wait_for("error", id=op_id)
            assert answer["code"] == "validation", answer
            shown = json.dumps(bad)[1:-1]
            assert answer["details"][0]["field"] == field.replace("KEY", shown), answer
        await device.send({"type": "create", "id": bad, "todo": {"title": "x"}})
        answer = await device.wait_for("error")
        assert answer["code"] == "validation" and "id" not in answer
        assert answer["details"][0]["field"] == "id"
    assert (await device.create("still fine"))["type"] == "ack"
    assert hub.log.tracebacks() == []
    await device.close()


async def test_a_surrogate_device_name_closes_only_that_hello(hub: RunningHub) -> None:
    """A device name that is not valid text is a bad hello (4400); the user's other sockets
    and their presence frames are untouched."""
    tokens = await register(hub)
    other = await Device.connect(hub, tokens["access_token"], "good")
    await other.wait_for("presence")
    bad = await Device.connect(hub, None, hello=False)
    await bad.send({"type": "hello", "protocol": 1, "token": tokens["access_token"],
                    "device": SURROGATE})
    assert (await bad.wait_closed())[0] == 4400
    assert (await other.create("after"))["type"] == "ack"
    assert not other.closed.done()
    assert hub.log.tracebacks() == []
    await other.close()
    await bad.close()


ODD_COMMANDS: list[tuple[str, str]] = [
    # (frame text, the field the answer names; "" for bad_request)
    ('{"type":"create","id":"o1","todo":{"title":"x","order":1e400}}', "todo.order"),
    ('{"type":"create","id":"o2","todo":{"title":"x","order":%s}}' % ("9" * 400), "todo.order"),
    ('{"type":"create","id":"o3","todo":{"title":"x","due_at":"9999-12-31T23:59:59-05:00"}}',
     "todo.due_at"),
    ('{"type":"create","id":"o4","todo":{"title":"x","due_at":"0001-01-01T00:00:00+05:00"}}',
     "todo.due_at"),
    ('{"type":"batch","id":"o5","ops":[{"type":["create"],"todo":{"title":"x"}}]}',
     "ops.0.type"),
    ('{"type":"batch","id":"o6","ops":[{"type":{"a":1},"todo":{"title":"x"}}]}',
     "ops.0.type"),
    ('{"type":"update","id":"o7","todo_id":"TID","patch":{},"if_version":%s}' % ("9" * 30),
     "if_version"),
    ('{"type":"create","id":"o8","todo":{"title":"x","tags":%s}}' % ("[" * 40 + "]" * 40), ""),
    ('{"type":"create","id":"o9","todo":{"title":"x"},"extra":%s}' % ("[" * 5000 + "]" * 5000),
     ""),
    ('{"type":"create","id":"o10","todo":{"title":"x","order":%s}}' % ("1" * 5000), ""),
    ('{"type":%s,"id":"o11"}' % ("[" * 5000 + "]" * 5000), ""),
]


async def test_odd_but_well_formed_frames_answer_coded_errors(hub: RunningHub) -> None:
    """Numbers beyond a float or a 64-bit integer, times out of range in UTC, an op type that
    is a list or an object, and deep nesting each answer an error frame with the contract's
    code; the socket stays open and nothing is logged as a bug."""
    device = await _device(hub)
    todo_id = (await device.create("base"))["todo"]["id"]
    for text, field in ODD_COMMANDS:
        op_id = text.split('"id":"')[1].split('"')[0]
        await device.send(text.replace("TID", todo_id))
        answer = await device.wait_for("error")
        if field:
            assert answer["code"] == "validation" and answer["id"] == op_id, answer
            assert answer["details"][0]["field"] == field, answer
        else:
            assert answer["code"] == "bad_request", answer
    assert (await device.create("still here"))["type"] == "ack"
    assert hub.log.tracebacks() == []
    await device.close()


async def test_early_years_have_four_digits(hub: RunningHub) -> None:
    """A due date before the year 1000 comes back as four-digit-year ISO 8601."""
    device = await _device(hub)
    ack = await device.create("old", due_at="0099-06-01T00:00:00Z")
    assert ack["todo"]["due_at"] == "0099-06-01T00:00:00.000Z"
    ack = await device.create("older", due_at="0001-01-01T05:00:00+05:00")
    assert ack["todo"]["due_at"] == "0001-01-01T00:00:00.000Z"
    await device.close()


async def test_hello_token_missing_or_empty_closes_4401(hub: RunningHub) -> None:
    """An empty, missing, non-string or unencodable token is a missing token (4401); other
    malformed hellos stay 4400."""
    for token in ('""', "null", "5", "[]", '"a\\ud800"'):
        device = await Device.connect(hub, None, hello=False)
        await device.send('{"type":"hello","protocol":1,"device":"d","token":' + token + "}")
        assert (await device.wait_closed())[0] == 4401, token
        await device.close()
    device = await Device.connect(hub, None, hello=False)
    await device.send('{"type":"hello","protocol":1,"device":"d"}')
    assert (await device.wait_closed())[0] == 4401
    await device.close()
    for hello in ('{"type":"hello","protocol":1,"token":"t","device":""}',
                  '{"type":"hello","protocol":1,"token":"t","device":"d","since":%s}' % ("9" * 30),
                  '{"type":"hello","protocol":1,"token":"t","device":"d","x":%s}'
                  % ("[" * 5000 + "]" * 5000),
                  '{"type":"hellø","token":"t"}'):
        device = await Device.connect(hub, None, hello=False)
        await device.send(hello)
        assert (await device.wait_closed())[0] == 4400, hello
        await device.close()
    long = '{"type":"hello","protocol":"%s","token":"t","device":"d"}' % ("é" * 300)
    device = await Device.connect(hub, None, hello=False)
    await device.send(long)
    assert (await device.wait_closed())[0] == 4409
    await device.close()
    assert hub.log.tracebacks() == []


async def test_invalid_utf8_closes_1007_with_one_line(hub: RunningHub) -> None:
    """Invalid UTF-8 in a text frame closes the socket with 1007 and logs one line, without a
    traceback, before and after hello alike."""
    tokens = await register(hub)
    for hello in (False, True):
        device = await Device.connect(hub, tokens["access_token"], hello=hello)
        before = len(hub.log.records)
        await device.ws.send(b'{"type":"ping","x":"\xff\xfe"}', text=True)
        assert (await device.wait_closed())[0] == 1007
        await device.close()
        async with asyncio.timeout(10):
            while len(hub.log.records) == before:
                await asyncio.sleep(0.01)
        lines = hub.log.lines()[before:]
        assert len(lines) == 1 and "Traceback" not in lines[0], lines
    assert hub.log.tracebacks() == []


def _surrogate_body(template: str) -> bytes:
    """A JSON body whose ``%s`` is a string with a lone surrogate, escaped as JSON does."""
    return (template % '"a\\ud800b"').encode()


async def test_rest_refuses_odd_input_with_the_error_body(hub: RunningHub) -> None:
    """Non-ASCII digits, times out of range in UTC, numbers beyond a float, a batch op type
    that is a list, deep nesting, text that is not valid Unicode and raw bytes that are not
    UTF-8 answer a 4xx with the contract's error body; nothing answers 500 or logs a bug."""
    tokens = await register(hub)
    headers = {"Authorization": f"Bearer {tokens['access_token']}",
               "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=hub.url, headers=headers, timeout=10) as http:
        todo = (await http.post("/api/todos", json={"title": "base"})).json()
        path = f"/api/todos/{todo['id']}"
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", "/api/todos?page=%C2%B2", {}),
            ("GET", "/api/todos?per_page=%E2%91%A0", {}),
            ("GET", "/api/todos?page=%D9%A1", {}),
            ("GET", "/api/todos?page=1_0", {}),
            ("GET", "/api/todos?page=" + "9" * 5000, {}),
            ("GET", "/api/todos?due_before=9999-12-31T23:59:59-05:00", {}),
            ("GET", "/api/todos?due_after=0001-01-01T00:00:00%2B05:00", {}),
            ("GET", "/api/todos?q=a%00b", {}),
            ("GET", "/api/todos?tag=a%00b", {}),
            ("GET", "/api/changes?since=%C2%B2", {}),
            ("GET", "/api/changes?limit=%E2%91%A0", {}),
            ("GET", "/api/changes?wait=%C2%B2", {}),
            ("PATCH", path, {"headers": {"If-Match": "²".encode("latin-1")},
                              "json": {"title": "x"}}),
            ("DELETE", path, {"headers": {"If-Match": "9" * 40}}),
            ("POST", "/api/todos", {"headers": {"Idempotency-Key": b"\xff" * 65},
                                    "json": {"title": "x"}}),
            ("POST", "/api/todos", {"json": {"title": "x", "order": 10**400}}),
            ("POST", "/api/todos", {"content": b'{"title":"x","order":1e400}'}),
            ("POST", "/api/todos", {"json": {"title": "x",
                                             "due_at": "9999-12-31T23:59:59-05:00"}}),
            ("POST", "/api/todos", {"content": _surrogate_body('{"title":%s}')}),
            ("POST", "/api/todos", {"content": _surrogate_body('{"title":"x","tags":[%s]}')}),
            ("POST", "/api/todos", {"content": _surrogate_body('{%s:1}')}),
            ("POST", "/api/todos", {"content": b'{"title":"a\xed\xa0\x80b"}'}),
            ("POST", "/api/todos", {"content": b'{"title":"\xff"}'}),
            ("POST", "/api/todos", {"content": b"[" * 5000 + b"]" * 5000}),
            ("POST", "/api/todos", {"content": b'{"title":"x","tags":' + b"[" * 40
                                    + b"]" * 40 + b"}"}),
            ("PATCH", path, {"content": _surrogate_body('{"description":%s}')}),
            ("POST", "/api/todos/batch", {"json": {"ops": [{"type": ["create"],
                                                           "todo": {"title": "x"}}]}}),
            ("POST", "/api/todos/batch", {"json": {"ops": [{"type": {"a": 1}}]}}),
            ("POST", "/api/todos/batch", {"content": _surrogate_body(
                '{"ops":[{"type":"create","todo":{"title":%s}}]}')}),
            ("POST", "/api/auth/register", {"content": _surrogate_body(
                '{"username":%s,"password":"Correct-horse-1"}')}),
            ("POST", "/api/auth/login", {"content": _surrogate_body(
                '{"username":"x","password":%s}')}),
            ("GET", "/api/todos/%ED%A0%80", {}),
        ]
        for method, url, options in requests:
            answer = await http.request(method, url, **options)
            assert 400 <= answer.status_code < 500, (method, url, answer.status_code,
                                                     answer.text)
            error = answer.json()["error"]
            assert error["code"] in ("bad_request", "validation", "not_found"), (url, error)
            assert isinstance(error["message"], str)
        listing = (await http.get("/api/todos")).json()
        assert [item["title"] for item in listing["items"]] == ["base"]
    assert hub.log.tracebacks() == []
