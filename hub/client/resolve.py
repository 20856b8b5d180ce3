"""Finding the list or todo a person means from what they typed on the command line: a
list by its name (case-insensitive, exact) or its id or the start of it, a todo by its id
or the start of it. Anything unknown or ambiguous is a ClientError of one line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.client.errors import ClientError
from hub.client.types import List, Todo

ID_LENGTH = 36


def find_list(lists: Sequence[List], typed: str) -> List:
    """The one list named ``typed`` or whose id is or starts with ``typed``: an exact id
    first, then a name, then the start of an id."""
    text = typed.strip()
    if not text:
        raise ClientError("expected a list's name or id, got an empty one")
    exact = [found for found in lists if found["id"] == text]
    if exact:
        return exact[0]
    named = [found for found in lists if found["name"].casefold() == text.casefold()]
    if len(named) > 1:
        ids = ", ".join(found["id"][:8] for found in named)
        raise ClientError(f"{len(named)} lists are named {typed!r} (ids {ids}); "
                          f"give the id (or its start) instead")
    if named:
        return named[0]
    started = [found for found in lists if found["id"].startswith(text.lower())]
    if len(started) == 1:
        return started[0]
    if started:
        names = ", ".join(f"{found['name']} {found['id'][:8]}" for found in started)
        raise ClientError(f"{len(started)} lists have an id starting {typed!r} ({names}); "
                          f"give more of the id")
    known = ", ".join(found["name"] for found in lists)
    raise ClientError(f"no list is named {typed!r} or has an id starting so "
                      f"(your lists: {known})")


def find_todo(todos: Iterable[Todo], prefix: str) -> str:
    """The id of the one todo whose id starts with ``prefix``."""
    matches = [todo["id"] for todo in todos if todo["id"].startswith(prefix)]
    if len(matches) != 1:
        found = "no todo" if not matches else f"{len(matches)} todos"
        raise ClientError(f"{found} with an id starting {prefix!r}")
    return matches[0]
