"""The command line's client verbs: ``login``, ``todos``, ``add``, ``done``, ``watch`` and
``lists`` (with ``lists add``, ``lists invite`` and ``lists join``).

They talk to a running hub through :class:`hub.client.Hub` with the token stored by
``login`` (or ``TODOHUB_TOKEN``). Output is for people unless ``--json`` is given (one JSON
document, or one JSON object per line for ``watch``); errors are one line on stderr with a
non-zero exit status. ``--list`` takes a list's name (case-insensitive) or its id, or the
start of the id (hub.client.resolve).
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
from hub.client import config, output
from hub.client.errors import ApiError, ClientError, Unauthorized, Unreachable
from hub.client.resolve import ID_LENGTH, find_list, find_todo
from hub.client.sync import Hub
from hub.client.types import List, Todo

COMMANDS = ("login", "todos", "add", "done", "watch", "lists")
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
    todos = verb("todos", "list your todos (grouped by list when there are several)")
    todos.add_argument("--list", dest="list_ref", metavar="LIST",
                       help="only this list's (its name or id)")
    todos.add_argument("--json", action="store_true", help="print JSON")
    add = verb("add", "add a todo")
    add.add_argument("title")
    add.add_argument("--due", help="ISO 8601 date or time (a date means 00:00 UTC)")
    add.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    add.add_argument("--list", dest="list_ref", metavar="LIST",
                     help="the list to add it to (its name or id; default the inbox)")
    add.add_argument("--json", action="store_true", help="print JSON")
    done = verb("done", "mark a todo completed")
    done.add_argument("id", help="the todo's id, or a unique start of it")
    done.add_argument("--json", action="store_true", help="print JSON")
    watch = verb("watch", "print every change as it happens (Ctrl-C to stop)")
    watch.add_argument("--since", type=int, default=None, help="start after this seq")
    watch.add_argument("--json", action="store_true", help="one JSON change per line")
    _add_lists_parser(verb("lists", "your lists: name, id, your role, how many todos"))


def _add_lists_parser(lists: argparse.ArgumentParser) -> None:
    lists.add_argument("--json", action="store_true", help="print JSON")
    actions = lists.add_subparsers(dest="action", metavar="ACTION")

    def action(name: str, help: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help)
        # SUPPRESS: an option absent after the action keeps what was given before it.
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                            help="print JSON")
        parser.add_argument("--url", default=argparse.SUPPRESS, help="the hub's address")
        return parser

    action("add", "make a list").add_argument("name")
    invite = action("invite", "invite someone to a list you own: prints a link to send")
    invite.add_argument("list_ref", metavar="LIST", help="the list's name or id")
    invite.add_argument("--role", choices=("editor", "viewer"), default="editor")
    invite.add_argument("--expires-in", type=int, default=None, metavar="SECONDS",
                        help="default the hub's (7 days)")
    invite.add_argument("--max-uses", type=int, default=None, metavar="N",
                        help="how many people may join with it (default 1)")
    join = action("join", "join a list with an invitation")
    join.add_argument("invitation", help="the invitation's link or token")


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
            elif args.command == "lists":
                _lists(hub, args, out)
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
    lists: list[List] | None = None
    if args.list_ref:
        lists = hub.lists.list()
        chosen = find_list(lists, args.list_ref)
        todos = list(hub.todos.list(list_id=chosen["id"]))
        lists = None
    else:
        todos = list(hub.todos.list())
        if len({todo["list_id"] for todo in todos}) > 1:
            lists = hub.lists.list()
    if args.json:
        json.dump(todos, out)
        out.write("\n")
        return
    if not todos:
        print("no todos", file=out)
    for line in output.todo_lines(todos, lists):
        print(line, file=out)


def _add(hub: Hub, args: argparse.Namespace) -> Todo:
    if args.list_ref:
        list_id = find_list(hub.lists.list(), args.list_ref)["id"]
        return hub.todos.create(args.title, list_id=list_id, **_fields(args))
    return hub.todos.create(args.title, **_fields(args))


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if args.tag:
        fields["tags"] = args.tag
    if args.due:
        fields["due_at"] = _due(args.due)
    return fields


def _due(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat() + "T00:00:00Z"
    except ValueError:
        return text


def _resolve(hub: Hub, prefix: str) -> str:
    """The id of the one todo whose id starts with ``prefix``."""
    if len(prefix) == ID_LENGTH:
        return prefix
    return find_todo(hub.todos.list(), prefix)


def _lists(hub: Hub, args: argparse.Namespace, out: TextIO) -> None:
    if args.action == "add":
        _print_list(hub.lists.create(args.name), args.json, out)
    elif args.action == "invite":
        chosen = find_list(hub.lists.list(), args.list_ref)
        made = hub.lists.invite(chosen["id"], args.role, args.expires_in, args.max_uses)
        if args.json:
            print(json.dumps(made), file=out)
        else:
            uses = made.get("uses_left", 1)
            print(f"invitation to {chosen['name']} as {made.get('role')} "
                  f"({uses} use{'' if uses == 1 else 's'}, until {made.get('expires_at')}): "
                  f"{made.get('url')}", file=out)
    elif args.action == "join":
        joined = hub.lists.accept(args.invitation)
        if args.json:
            print(json.dumps(joined), file=out)
        else:
            print(f"joined {joined['name']} as {joined.get('role')}", file=out)
    else:
        _show_lists(hub, args.json, out)


def _show_lists(hub: Hub, as_json: bool, out: TextIO) -> None:
    shown = [(found, hub.todos.stats(list_id=found["id"])["total"])
             for found in hub.lists.list()]
    if as_json:
        json.dump([{**found, "count": count} for found, count in shown], out)
        out.write("\n")
        return
    width = max(len(found["name"]) for found, _ in shown) if shown else 0
    for found, count in shown:
        print(output.list_line(found, count, width), file=out)


def _print_list(found: List, as_json: bool, out: TextIO) -> None:
    print(json.dumps(found) if as_json else output.list_line(found), file=out)


def _watch(hub: Hub, args: argparse.Namespace, out: TextIO) -> None:
    names = {found["id"]: found["name"] for found in hub.lists.list()}
    for change in hub.watch(since=args.since):
        shown = change.get("list") or {}
        if change.get("op") == "list" and "name" in shown:
            names[shown["id"]] = shown["name"]
        if args.json:
            out.write(json.dumps(change) + "\n")
        else:
            out.write(output.change_line(change, names) + "\n")
        if change.get("op") == "list_removed":
            names.pop(shown.get("id", ""), None)
        out.flush()


def _print_todo(todo: Todo, as_json: bool, out: TextIO) -> None:
    print(json.dumps(todo) if as_json else output.todo_line(todo), file=out)
