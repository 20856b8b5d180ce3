"""The one error storage raises for a command it refuses; the hub maps its code to the wire."""

from __future__ import annotations

from typing import Any


class CommandRejected(Exception):
    """A command that changed nothing: ``code`` is a wire error code (validation, not_found,
    conflict, forbidden), ``todo`` (or ``list``) the current state where a conflict needs it."""

    def __init__(
        self,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        todo: dict[str, Any] | None = None,
        list: dict[str, Any] | None = None,  # noqa: A002  (the wire's name)
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.todo = todo
        self.list = list
