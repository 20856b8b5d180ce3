"""The change frame: the JSON text stored in the change log and sent to devices as it is.

Built here, once per change and recipient, by the command rules (todo changes) and the list
rules (``list`` and ``list_removed`` changes); hub.protocol re-exports it with the other
server events.
"""

from __future__ import annotations

from typing import Any

from storage.codec import dumps


def change_frame(seq: int, op: str, todo: dict[str, Any], device: str, op_id: str | None,
                 at: str) -> str:
    """The ``change`` frame of seq ``seq`` in its recipient's log: ``op`` (create, update,
    delete) of ``todo`` (the wire todo), made by ``device`` under operation ``op_id`` at
    ``at``."""
    return _frame(seq, op, {"todo": todo}, device, op_id, at)


def list_frame(seq: int, op: str, body: dict[str, Any], device: str, op_id: str | None,
               at: str) -> str:
    """A ``change`` frame of a list: ``op`` is ``list`` (``body``: the list as its recipient
    sees it) or ``list_removed`` (``body``: the list's id and the ``reason``)."""
    return _frame(seq, op, body, device, op_id, at)


def _frame(seq: int, op: str, body: dict[str, Any], device: str, op_id: str | None,
           at: str) -> str:
    return dumps({"type": "change", "seq": seq, "op": op, **body,
                  "origin": {"device": device, "op": op_id}, "at": at})
