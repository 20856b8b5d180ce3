"""What hellos read, for many hellos in one read transaction (a read plan, storage.plans).

For each hello: its session as stored (when the caller asks), its user's log position,
and either the first page of changes after its ``since`` or a snapshot
(``storage.changes.replayable`` decides, the same rule for one hello or many). Whatever the
number of hellos: one statement for the positions, one for the sessions, one per resuming
device, and four for all the snapshots together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from storage import snapshots
from storage.changes import FRAMES, positions_statement, replayable
from storage.plans import Plan, Query
from storage.snapshots import Snapshot
from storage.users import SessionOwner, owners_by_session, owners_statement


@dataclass(frozen=True)
class HelloAsk:
    """One hello: its user, its ``since`` and the session to look up with it (None when
    its token was checked otherwise)."""

    user_id: str
    since: int | None
    session_id: str | None = None


@dataclass(frozen=True)
class HelloState:
    """What one hello read: its session (None when missing or not asked), its user's seq
    and pruned seq (None when there is no such user), and either the first page of changes
    after its since (``frames``) or ``snapshot``."""

    owner: SessionOwner | None
    position: tuple[int, int] | None
    frames: list[tuple[int, str]] | None
    snapshot: Snapshot | None


class Statements(NamedTuple):
    """The reads of ``hellos`` for one way of passing lists."""

    positions: Any
    owners: Any
    frames: Any
    snapshot: snapshots.Statements


def statements(listed: Any) -> Statements:
    """The statements of ``hellos`` with lists passed by ``listed``."""
    return Statements(positions_statement(listed), owners_statement(listed), FRAMES,
                      snapshots.statements(listed))


def hellos(asks: Sequence[HelloAsk], page: int, st: Statements) -> Plan[list[HelloState]]:
    """The state of each hello of ``asks``, in order; at most ``page`` changes each."""
    user_ids = sorted({ask.user_id for ask in asks})
    session_ids = sorted({ask.session_id for ask in asks if ask.session_id is not None})
    first: list[Query] = [Query(st.positions, {"users": user_ids})]
    if session_ids:
        first.append(Query(st.owners, {"sessions": session_ids}))
    found = yield first
    positions = {row.id: (row.seq, row.pruned_seq) for row in found[0]}
    owners = owners_by_session(found[1]) if session_ids else {}
    replays: dict[int, Query] = {}
    seqs: dict[str, int] = {}
    for index, ask in enumerate(asks):
        position = positions.get(ask.user_id)
        if position is None:
            continue
        seq, pruned = position
        if replayable(ask.since, seq, pruned):
            replays[index] = Query(st.frames, {"user_id": ask.user_id, "after": ask.since,
                                               "upto": seq, "limit": page})
        else:
            seqs[ask.user_id] = seq
    pages = dict(zip(replays, (yield list(replays.values())) if replays else [], strict=True))
    states = yield from snapshots.snapshots(seqs, st.snapshot)
    return [
        HelloState(
            owners.get(ask.session_id) if ask.session_id is not None else None,
            positions.get(ask.user_id),
            [(row.seq, row.frame) for row in pages[index]] if index in pages else None,
            states.get(ask.user_id) if index not in pages else None,
        )
        for index, ask in enumerate(asks)
    ]
