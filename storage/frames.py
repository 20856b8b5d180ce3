"""The change frame: the JSON text stored in the change log and sent to devices as it is.

Built here, once per change and recipient, by the command rules; hub.protocol re-exports it
with the other server events.
"""

from __future__ import annotations

from typing import Any

from storage.codec import dumps


def change_frame(seq: int, op: str, todo: dict[str, Any], device: str, op_id: str | None,
                 at: str) -> str:
    """The ``change`` frame of seq ``seq`` in its recipient's log: ``op`` (create, update,
    delete) of ``todo`` (the wire todo), made by ``device`` under operation ``op_id`` at
    ``at``."""
    return dumps({"type": "change", "seq": seq, "op": op, "todo": todo,
                  "origin": {"device": device, "op": op_id}, "at": at})
