"""Before an account goes: the lists it owns are deleted for every member, it leaves the
others (its assignments there cleared), and the remaining members' streams say so."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import delete, select

from storage.clock import utcnow
from storage.engine import Database
from storage.invites import create_invite, hash_token
from storage.list_commands import leave_every_list
from storage.migrate import upgrade
from storage.models import list_members, lists, todos, users
from storage.types import Applied, Command, JoinOp, parse_op
from storage.users import create_user
from storage.writer import write_group


async def test_leaving_every_list_before_the_account_goes(tmp_path: Path) -> None:
    """ann owns one shared list and is an assigned editor of cat's: after leave_every_list
    and the user row's deletion, bob and cat hold no trace of ann and were told."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await upgrade(url)
    db = Database(url)
    try:
        async with db.write() as conn:
            ann, bob, cat = [await create_user(conn, name, None) for name in ("ann", "bob", "cat")]

        async def run(user: str, frame: dict[str, object]) -> Applied:
            (outcome,) = await write_group(db, [(user, Command(None, [parse_op(frame)]), "t")])
            assert isinstance(outcome, Applied), outcome
            return outcome

        mine = (await run(ann.id, {"type": "list_create", "list": {"name": "ann's"}}))
        theirs = (await run(cat.id, {"type": "list_create", "list": {"name": "cat's"}}))
        for owner, shown, guests in ((ann, mine, (bob,)), (cat, theirs, (ann, bob))):
            for guest in guests:
                async with db.write() as conn:
                    offer = await create_invite(conn, owner.id, shown.answer["list"]["id"],
                                                "editor", 3600, 1, utcnow())
                (joined,) = await write_group(
                    db, [(guest.id, Command(None, [JoinOp(hash_token(offer["token"]))]), "t")])
                assert isinstance(joined, Applied)
        cats_list = theirs.answer["list"]["id"]
        task = await run(cat.id, {"type": "create", "todo": {
            "title": "for ann", "list_id": cats_list, "assignee": ann.id}})
        async with db.write() as conn:
            told = await leave_every_list(conn, ann.id)
            await conn.execute(delete(users).where(users.c.id == ann.id))
        by_user: dict[str, list[dict[str, object]]] = {}
        for change in told:
            by_user.setdefault(change.user_id, []).append(json.loads(change.frame))
        assert sorted((str(f["op"]), str(f.get("reason"))) for f in by_user[bob.id]) == [
            ("list", "None"), ("list_removed", "deleted"), ("update", "None")]
        assert [f["op"] for f in by_user[cat.id]] == ["list", "update"]
        cleared = by_user[cat.id][1]["todo"]
        assert isinstance(cleared, dict) and cleared["id"] == task.answer["todo"]["id"]
        assert cleared["assignee"] is None
        async with db.read() as conn:
            assert (await conn.execute(select(lists.c.name).order_by(lists.c.name))
                    ).scalars().all() == ["Inbox", "Inbox", "cat's"]
            assert ann.id not in (await conn.execute(select(list_members.c.user_id))
                                  ).scalars().all()
            assert (await conn.execute(select(todos.c.assignee))).scalars().all() == [None]
    finally:
        await db.dispose()
