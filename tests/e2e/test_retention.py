"""Change-log retention: old changes are pruned, and a device behind them gets a snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.changes import log_position
from storage.engine import Database
from tests.client import Device, register
from tests.servers import RunningHub


async def test_device_behind_the_retained_log_gets_a_snapshot(hub_factory: object) -> None:
    """After pruning keeps the newest changes only, an old since gets a snapshot and a recent
    since still gets a replay."""
    hub: RunningHub = hub_factory(  # type: ignore[operator]
        retention_days=0, retention_changes=2, prune_interval=0.2
    )
    tokens = await register(hub)
    writer = await Device.connect(hub, tokens["access_token"], "writer")
    for title in ("a", "b", "c", "d", "e"):
        await writer.create(title)
    await writer.wait_changes(5)

    async def pruned() -> bool:
        async with hub_database(hub) as conn:
            _, floor = await log_position(conn, tokens["user"]["id"])
            return floor == 3

    async with asyncio.timeout(10):
        while not await pruned():
            await asyncio.sleep(0.1)
    old = await Device.connect(hub, tokens["access_token"], "old", since=1)
    kinds = [f["type"] for f in old.frames]
    assert kinds[:3] == ["welcome", "snapshot", "synced"]
    assert [t["title"] for t in old.frames[1]["todos"]] == ["a", "b", "c", "d", "e"]
    recent = await Device.connect(hub, tokens["access_token"], "recent", since=3)
    assert [c["seq"] for c in recent.changes()] == [4, 5]
    for device in (writer, old, recent):
        await device.close()


@asynccontextmanager
async def hub_database(hub: RunningHub) -> AsyncIterator[AsyncConnection]:
    """A read connection to the hub's database (its own engine, closed afterwards)."""
    db = Database(hub.settings.resolved_database_url)
    try:
        async with db.read() as conn:
            yield conn
    finally:
        await db.dispose()
