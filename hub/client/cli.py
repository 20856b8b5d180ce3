"""The command line's client verbs: ``login``, ``todos``, ``add``, ``done``, ``watch``.

They talk to a running hub through :class:`hub.client.Hub` with the token stored by
``login`` (or ``TODOHUB_TOKEN``). Output is for people unless ``--json`` is given (one JSON
document, or one JSON object per line for ``watch``); errors are one line on stderr with a
non-zero exit status.
"""

from __future__ import annotations

import argparse
import getpass
import json
import platform
import sys
from datetime import date
from typing import Any, TextIO

import httpx

from hub.client import _calls as calls
from hub.client import config
from hub.client.errors import ApiError, ClientError, Unauthorized, Unreachable
from hub.client.sync import Hub
from hub.client.types import Change, Todo

COMMANDS = ("login", "todos", "add", "done", "watch")
EXIT_ERROR = 1


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the client verbs to the ``todohub`` command."""
    def verb(name: str, help: str) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help)
        parser.add_argument("--url", help=f"the hub's address (env TODOHUB_URL, default "
                                          f"the stored one or {config.DEFAULT_URL})")
        return parser

    login = verb("login", "sign in and store an access token for the other verbs")
    login.add_argument("--username", help="asked for when absent")
    login.add_argument("--password", help="asked for when absent (or read from stdin)")
    login.add_argument("--token", help="store this access token instead of signing in")
    login.add_argument("--scope", choices=("read", "write"), default="write")
    todos = verb("todos", "list your todos")
    todos.add_argument("--list", dest="list_id", metavar="LIST", help="only this list's")
    todos.add_argument("--json", action="store_true", help="print JSON")
    add = verb("add", "add a todo")
    add.add_argument("title")
    add.add_argument("--due", help="ISO 8601 date or time (a date means 00:00 UTC)")
    add.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    add.add_argument("--list", dest="list_id", metavar="LIST", help="the list to add it to")
    add.add_argument("--json", action="store_true", help="print JSON")
    done = verb("done", "mark a todo completed")
    done.add_argument("id", help="the todo's id, or a unique start of it")
    done.add_argument("--json", action="store_true", help="print JSON")
    watch = verb("watch", "print every change as it happens (Ctrl-C to stop)")
    watch.add_argument("--since", type=int, default=None, help="start after this seq")
    watch.add_argument("--json", action="store_true", help="one JSON change per line")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run a client verb; the exit status."""
    profile = config.load(url=args.url)
    try:
        if args.command == "login":
            return _login(args, profile, out)
        if profile.token is None:
            raise Unauthorized("unauthorized", "not logged in; run todohub login "
                                               "(or set TODOHUB_TOKEN)")
        with Hub(profile.url, profile.token) as hub:
            if args.command == "todos":
                _todos(hub, args, out)
            elif args.command == "add":
                _print_todo(_add(hub, args), args.json, out)
            elif args.command == "done":
                todo = hub.todos.update(_resolve(hub, args.id), completed=True)
                _print_todo(todo, args.json, out)
            else:
                _watch(hub, args, out)
        return 0
    except Unreachable as exc:
        print(f"todohub: cannot reach the hub at {profile.url}: {exc}", file=err)
    except Unauthorized as exc:
        if args.command == "login":
            print(f"todohub: login refused (unauthorized): {exc.message}", file=err)
        else:
            print(f"todohub: the hub refused the token ({exc.message}); run todohub login",
                  file=err)
    except ApiError as exc:
        print(f"todohub: {exc.code}: {exc.message}", file=err)
    except ClientError as exc:
        print(f"todohub: {exc}", file=err)
    except KeyboardInterrupt:
        return 130
    return EXIT_ERROR


def _login(args: argparse.Namespace, profile: config.Profile, out: TextIO) -> int:
    token = args.token
    if token is None:
        username = args.username or input("username: ")
        password = args.password
        if password is None:
            password = (getpass.getpass("password: ") if sys.stdin.isatty()
                        else sys.stdin.readline().rstrip("\n"))
        token = _token_for(profile.url, username, password, args.scope)
    with Hub(profile.url, token) as hub:
        user = hub.me()
    path = config.save(config.Profile(profile.url, token))
    print(f"logged in to {profile.url} as {user['username']}; token stored in {path}",
          file=out)
    return 0


def _token_for(url: str, username: str, password: str, scope: str) -> str:
    """Sign in with a password, make a personal access token, end the password session."""
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=10.0) as http:
            login = http.post("/api/auth/login", json={"username": username,
                                                       "password": password})
            if not login.is_success:
                raise calls.error_of(login.status_code, login.headers, login.content)
            access = login.json()["access_token"]
            name = f"todohub cli on {platform.node() or 'this machine'}"[:100]
            made = http.post("/api/tokens", headers={"Authorization": f"Bearer {access}"},
                             json={"name": name, "scope": scope, "expires_in": None})
            if not made.is_success:
                raise calls.error_of(made.status_code, made.headers, made.content)
            http.post("/api/auth/logout", headers={"Authorization": f"Bearer {access}"})
            return str(made.json()["token"])
    except httpx.TransportError as exc:
        raise Unreachable(f"{exc.__class__.__name__} {exc}".strip()) from None


def _todos(hub: Hub, args: argparse.Namespace, out: TextIO) -> None:
    todos = list(hub.todos.list(list_id=args.list_id))
    if args.json:
        json.dump(todos, out)
        out.write("\n")
        return
    if not todos:
        print("no todos", file=out)
    for todo in todos:
        print(_line(todo), file=out)


def _add(hub: Hub, args: argparse.Namespace) -> Todo:
    fields: dict[str, Any] = {}
    if args.tag:
        fields["tags"] = args.tag
    if args.due:
        fields["due_at"] = _due(args.due)
    if args.list_id:
        fields["list_id"] = args.list_id
    return hub.todos.create(args.title, **fields)


def _due(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat() + "T00:00:00Z"
    except ValueError:
        return text


def _resolve(hub: Hub, prefix: str) -> str:
    """The id of the one todo whose id starts with ``prefix``."""
    if len(prefix) == 36:
        return prefix
    matches = [t["id"] for t in hub.todos.list() if t["id"].startswith(prefix)]
    if len(matches) != 1:
        found = "no todo" if not matches else f"{len(matches)} todos"
        raise ClientError(f"{found} with an id starting {prefix!r}")
    return matches[0]


def _watch(hub: Hub, args: argparse.Namespace, out: TextIO) -> None:
    for change in hub.watch(since=args.since):
        if args.json:
            out.write(json.dumps(change) + "\n")
        else:
            out.write(_change_line(change) + "\n")
        out.flush()


def _line(todo: Todo) -> str:
    mark = "x" if todo.get("completed") else " "
    parts = [f"[{mark}] {todo['id'][:8]}  {todo.get('title', '')}"]
    if todo.get("tags"):
        parts.append(" ".join(f"#{tag}" for tag in todo["tags"]))
    if todo.get("due_at"):
        parts.append(f"due {todo['due_at']}")
    if todo.get("priority") not in (None, "medium"):
        parts.append(f"!{todo.get('priority')}")
    return "  ".join(parts)


def _print_todo(todo: Todo, as_json: bool, out: TextIO) -> None:
    print(json.dumps(todo) if as_json else _line(todo), file=out)


def _change_line(change: Change) -> str:
    todo = change.get("todo") or {}
    origin = change.get("origin") or {}
    what = todo.get("title") or todo.get("id", "")
    if change.get("op") == "delete":
        what = f"{todo.get('id', '')[:8]} deleted"
    elif todo:
        what = _line(todo)
    return f"{change.get('seq')} {change.get('op')} {what}  (from {origin.get('device', '?')})"
