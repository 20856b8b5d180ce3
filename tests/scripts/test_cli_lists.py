"""The command line's lists against a real hub: ``todohub lists`` (and add, invite, join),
``--list`` by name and by id on ``todos`` and ``add``, and its one-line errors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.client import register
from tests.scripts.helpers import cli_env, make_token, one_line_error, todohub
from tests.servers import RunningHub


async def _run(env: dict[str, str], *args: str) -> str:
    done = await asyncio.to_thread(todohub, env, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


async def test_lists_and_the_list_option(hub: RunningHub, tmp_path: Path) -> None:
    """ann makes a list, adds to it by name (any case) and by id prefix, sees her todos
    grouped by list and her lists with counts; bob joins by the invitation's link as a
    viewer, sees the todos, and may not add; unknown and ambiguous lists are one-line
    errors."""
    ann_login, bob_login = await register(hub), await register(hub)
    ann = cli_env(tmp_path / "ann", hub.url,
                  TODOHUB_TOKEN=(await make_token(hub, ann_login))["token"])
    bob = cli_env(tmp_path / "bob", hub.url,
                  TODOHUB_TOKEN=(await make_token(hub, bob_login))["token"])

    (inbox,) = json.loads(await _run(ann, "lists", "--json"))
    assert inbox["inbox"] and inbox["count"] == 0
    assert (await _run(ann, "lists")).split() == ["Inbox", inbox["id"][:8], "owner", "0",
                                                  "todos"]
    made = json.loads(await _run(ann, "lists", "add", "Groceries", "--json"))
    assert made["name"] == "Groceries" and made["role"] == "owner"
    by_name = json.loads(await _run(ann, "add", "Oat milk", "--list", "gROCERIES", "--json"))
    by_id = json.loads(await _run(ann, "add", "Bread", "--list", made["id"][:6], "--json"))
    by_full_id = json.loads(await _run(ann, "add", "Eggs", "--list", made["id"], "--json"))
    assert {by_name["list_id"], by_id["list_id"], by_full_id["list_id"]} == {made["id"]}
    await _run(ann, "add", "Call mum")

    grouped = (await _run(ann, "todos")).splitlines()
    assert grouped[0] == "Inbox" and "Call mum" in grouped[1]
    assert grouped[2] == "Groceries" and all(line.startswith("  [ ] ") for line in grouped[3:])
    assert len(grouped) == 6
    only = (await _run(ann, "todos", "--list", "groceries")).splitlines()
    assert len(only) == 3 and all(line.startswith("[ ] ") for line in only)
    shown: list[dict[str, Any]] = json.loads(await _run(ann, "lists", "--json"))
    assert [(found["name"], found["count"]) for found in shown] == [("Inbox", 1),
                                                                    ("Groceries", 3)]
    table = (await _run(ann, "lists")).splitlines()
    assert table[1].split()[:4] == ["Groceries", made["id"][:8], "owner", "3"]

    invited = await _run(ann, "lists", "invite", "Groceries", "--role", "viewer")
    assert invited.startswith("invitation to Groceries as viewer (1 use, until ")
    link = invited.split()[-1]
    assert "/#/invite/" in link
    assert (await _run(bob, "lists", "join", link)).strip() == "joined Groceries as viewer"
    assert "shared by 2" in (await _run(ann, "lists")).splitlines()[1]
    seen = await _run(bob, "todos", "--list", "Groceries", "--json")
    assert sorted(todo["title"] for todo in json.loads(seen)) == ["Bread", "Eggs", "Oat milk"]
    refused = await asyncio.to_thread(todohub, bob, "add", "Cake", "--list", "Groceries")
    one_line_error(refused, "forbidden")

    unknown = await asyncio.to_thread(todohub, ann, "add", "x", "--list", "Hardware")
    one_line_error(unknown, "no list is named 'Hardware'")
    await _run(bob, "lists", "add", "groceries")
    twice = await asyncio.to_thread(todohub, bob, "todos", "--list", "Groceries")
    one_line_error(twice, "2 lists are named 'Groceries'")
    no_list_yet = await asyncio.to_thread(todohub, ann, "lists", "invite", "nope")
    one_line_error(no_list_yet, "no list is named 'nope'")
