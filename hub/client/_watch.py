"""Following a user's changes over the socket, without I/O: the hello to send, which frames
become changes, what a close code means. The sync and async drivers only move text.

Resuming is the hub's ``since``: the state keeps the seq of the last change it let through,
says hello with it after every reconnect, and drops a change it has already seen, so the
caller gets every change once, in order, across reconnects and hub restarts.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import Any, cast

from hub.client.errors import ApiError, Conflict, Unauthorized, api_error
from hub.client.types import Change

# Close codes after which reconnecting cannot help: fix the token or the client.
_FATAL = {1009: "too_large", 4400: "bad_request", 4409: "bad_request"}


@dataclass
class Backoff:
    """Capped exponential backoff with jitter; reset once a session is up."""

    base: float = 0.1
    cap: float = 5.0
    attempt: int = 0

    def next(self) -> float:
        """Seconds to wait before the next reconnect."""
        self.attempt += 1
        wait: float = min(self.cap, self.base * 2 ** (self.attempt - 1))
        return wait * (0.5 + random.random() / 2)

    def reset(self) -> None:
        """A session came up: start from the shortest wait again."""
        self.attempt = 0


class WatchState:
    """One watcher's position in the user's stream."""

    def __init__(self, token: str, since: int | None, device: str | None = None) -> None:
        self.token = token
        self.last = since
        self.device = device or f"watch-{uuid.uuid4().hex[:12]}"
        self.synced = False
        self.sessions = 0

    def hello(self) -> str:
        """The first frame of a new socket: resume after the last change seen."""
        self.synced = False
        return json.dumps({"type": "hello", "protocol": 1, "token": self.token,
                           "device": self.device, "since": self.last})

    def receive(self, text: str | bytes) -> list[Change]:
        """The changes a frame gives the caller (none for most frames); raises ApiError
        when the hub says something a reconnect cannot mend."""
        frame: dict[str, Any] = json.loads(text)
        kind = frame.get("type")
        if kind == "change":
            seq = int(frame["seq"])
            if self.last is not None and seq <= self.last:
                return []
            self.last = seq
            return [cast(Change, frame)]
        if kind == "snapshot" and self.last is not None:
            raise Conflict("conflict", f"the hub no longer keeps the changes after seq "
                           f"{self.last}; read the todos again and watch from now")
        if kind == "synced":
            if self.last is None:
                self.last = int(frame["seq"])
            self.synced = True
            self.sessions += 1
        elif kind == "error" and frame.get("id") is None:
            raise api_error(str(frame.get("code")), str(frame.get("message")))
        return []

    def closed(self, code: int | None, reason: str) -> None:
        """The socket closed: raise when reconnecting cannot help, return to reconnect."""
        if code == 4401:
            raise Unauthorized("unauthorized", reason or "the token was refused")
        if code in _FATAL:
            raise ApiError(_FATAL[code], f"the hub closed the socket with {code}: {reason}")
