"""How the command line shows todos, lists and changes to people, one line each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.client.types import Change, List, Todo


def todo_line(todo: Todo) -> str:
    """``[x] 3f0c1a2b  Buy milk  #home  due ...  !high``."""
    mark = "x" if todo.get("completed") else " "
    parts = [f"[{mark}] {todo['id'][:8]}  {todo.get('title', '')}"]
    if todo.get("tags"):
        parts.append(" ".join(f"#{tag}" for tag in todo["tags"]))
    if todo.get("due_at"):
        parts.append(f"due {todo['due_at']}")
    if todo.get("priority") not in (None, "medium"):
        parts.append(f"!{todo.get('priority')}")
    return "  ".join(parts)


def todo_lines(todos: Sequence[Todo], lists: Sequence[List] | None) -> list[str]:
    """The todos one a line; given ``lists``, grouped under each list's name in the lists'
    order (todos of lists not given come last, under their list's id)."""
    if lists is None:
        return [todo_line(todo) for todo in todos]
    names = {found["id"]: found["name"] for found in lists}
    order = {list_id: index for index, list_id in enumerate(names)}
    lines: list[str] = []
    current: str | None = None
    for todo in sorted(todos, key=lambda t: order.get(t["list_id"], len(order))):
        if todo["list_id"] != current:
            current = todo["list_id"]
            lines.append(names.get(current, current))
        lines.append("  " + todo_line(todo))
    return lines


def list_line(found: List, count: int | None = None, width: int = 0) -> str:
    """``Groceries  5e6f7a8b  editor  3 todos  shared by 2``."""
    parts = [found["name"].ljust(width), found["id"][:8], found.get("role", "?").ljust(6)]
    if count is not None:
        parts.append(f"{count} todo" + ("" if count == 1 else "s"))
    members = found.get("members") or []
    if len(members) > 1:
        parts.append(f"shared by {len(members)}")
    return "  ".join(parts).rstrip()


def change_line(change: Change, names: Mapping[str, str]) -> str:
    """A change, for people: ``12 create [ ] 3f0c1a2b  Buy milk  in Groceries  (from
    phone)``; list changes say the list, its members and the reader's role. ``names``
    maps list ids to names, to say where a todo is."""
    op = change.get("op", "?")
    origin = (change.get("origin") or {}).get("device", "?")
    if op in ("list", "list_removed"):
        shown = change.get("list") or {}
        list_id = shown.get("id", "")
        name = shown.get("name") or names.get(list_id) or list_id[:8]
        if op == "list":
            members = ", ".join(f"{m['user']['username']} {m['role']}"
                                for m in shown.get("members", []))
            what = f"{name}: you are {shown.get('role', '?')}; members {members}"
        else:
            what = f"{name}: gone ({change.get('reason', '?')})"
    else:
        todo = change.get("todo") or {}
        what = (f"{todo.get('id', '')[:8]} deleted" if op == "delete" or todo.get("deleted")
                else todo_line(todo))
        list_name = names.get(todo.get("list_id", ""))
        if list_name is not None:
            what += f"  in {list_name}"
    return f"{change.get('seq')} {op} {what}  (from {origin})"
