"""Who may do what to a list and its todos, by role. Pure: used by the todo rules
(storage.rules.todos) and the list rules (storage.list_rules) alike.

A list the user does not belong to, and every todo in it, is missing for them
(``not_found``); a role's overreach is ``forbidden``.
"""

from __future__ import annotations

from storage.errors import CommandRejected

ROLES = ("owner", "editor", "viewer")
WRITERS = frozenset({"owner", "editor"})  # create, update, delete and move todos
OWNER = frozenset({"owner"})  # rename, delete, invite, remove members, change roles


def require_role(role: str | None, list_id: str, allowed: frozenset[str] = WRITERS,
                 action: str = "change") -> str:
    """``role`` (the actor's in the list) when it allows ``action``: not_found when there
    is none, forbidden when it is not among ``allowed``."""
    if role is None:
        raise CommandRejected("not_found", f"no list with id {list_id}")
    if role not in allowed:
        raise CommandRejected(
            "forbidden", f"a {role} of list {list_id} may not {action} it "
            f"(needs {' or '.join(sorted(allowed))})",
        )
    return role
