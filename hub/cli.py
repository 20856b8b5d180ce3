"""The ``todohub`` command: ``serve``, ``migrate``, ``user create``, ``user delete``,
``token create``, and the client verbs ``login``, ``todos``, ``add``, ``done`` and ``watch``
(hub.client.cli).

Every setting is an option here and a ``TODOHUB_*`` environment variable; options win.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from typing import Any

from hub import token_command
from hub.client import cli as client_cli
from hub.config import SettingError, Settings, setting_fields


def _add_setting_options(parser: argparse.ArgumentParser) -> None:
    for f in setting_fields():
        parser.add_argument(
            f"--{f.name.replace('_', '-')}", dest=f.name, default=None, metavar="VALUE",
            help=f"{f.metadata.get('help', '')} (env TODOHUB_{f.name.upper()}, "
                 f"default {f.default!r})",
        )


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment and the options; a bad value exits with one line."""
    overrides: dict[str, Any] = {}
    for f in setting_fields():
        raw = getattr(args, f.name, None)
        if raw is not None:
            overrides[f.name] = raw
    try:
        settings = Settings.from_env(**overrides)
    except SettingError as exc:
        if exc.name in overrides:
            exc = exc.named(f"--{exc.name.replace('_', '-')}")
        print(f"todohub: {exc}", file=sys.stderr)
        sys.exit(2)
    # Worker processes read the environment: hand every explicit option on.
    for name, value in overrides.items():
        os.environ[f"TODOHUB_{name.upper()}"] = value
    return settings


def serve(settings: Settings) -> int:
    """Run the hub with uvicorn until it is stopped."""
    import uvicorn

    from auth.keys import load_secret
    from hub.brokers import reaches_other_processes
    from hub.serving import uvicorn_options
    from storage.migrate import upgrade

    if settings.workers > 1 and not reaches_other_processes(settings.redis_url):
        print(
            f"todohub: --workers {settings.workers} needs the Redis broker: several processes "
            "with the in-process broker would not see each other's changes. Set TODOHUB_REDIS_URL "
            "(or --redis-url) to a redis:// URL, or run one worker.",
            file=sys.stderr,
        )
        return 2
    os.makedirs(settings.data_dir, exist_ok=True)
    if not settings.signing_secret:
        # Generate the secret once, before workers start, so all of them share it.
        load_secret("", settings.data_dir)
    asyncio.run(upgrade(settings.resolved_database_url))
    uvicorn.run(
        "hub.app:app_factory",
        factory=True,
        workers=settings.workers if settings.workers > 1 else None,
        **uvicorn_options(settings),
    )
    return 0


def migrate(settings: Settings) -> int:
    """Bring the database to the newest schema."""
    from storage.migrate import current_revision, upgrade

    url = settings.resolved_database_url
    os.makedirs(settings.data_dir, exist_ok=True)
    asyncio.run(upgrade(url))
    print(f"database at revision {asyncio.run(current_revision(url))}")
    return 0


def create_user_command(settings: Settings, username: str, password: str | None,
                        email: str | None) -> int:
    """Create a user from the command line."""
    from auth.errors import WeakPassword
    from auth.passwords import Hasher, check_strength
    from storage.engine import Database
    from storage.migrate import upgrade
    from storage.users import UsernameTaken, create_user

    if password is None:
        password = getpass.getpass("password: ")
    try:
        check_strength(password)
    except WeakPassword as exc:
        print(f"todohub: weak password: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        url = settings.resolved_database_url
        await upgrade(url)
        db = Database(url)
        hasher = Hasher(settings.argon2_time_cost, settings.argon2_memory_cost,
                        settings.argon2_parallelism)
        try:
            hashed = await hasher.hash(password)
            async with db.write() as conn:
                user = await create_user(conn, username, hashed, email)
        except UsernameTaken:
            print(f"todohub: the username {username!r} is taken", file=sys.stderr)
            return 1
        finally:
            await db.dispose()
        print(f"created user {user.username} ({user.id})")
        return 0

    os.makedirs(settings.data_dir, exist_ok=True)
    return asyncio.run(run())


def delete_user_command(settings: Settings, username: str, confirmed: bool) -> int:
    """Delete a user and every row of theirs, and close their sockets on every hub process
    that shares this one's Redis."""
    from hub.brokers import reaches_other_processes
    from hub.rooms import change_message, revoke_message, room_name
    from storage.engine import Database
    from storage.list_commands import leave_every_list
    from storage.migrate import upgrade
    from storage.types import Limits
    from storage.users import delete_user, find_login

    if not confirmed:
        if not sys.stdin.isatty():
            print("todohub: deleting a user cannot be undone: add --yes", file=sys.stderr)
            return 2
        if input(f"delete {username!r} and all of their todos? type the name: ") != username:
            print("todohub: not deleted", file=sys.stderr)
            return 1

    async def run() -> int:
        url = settings.resolved_database_url
        await upgrade(url)
        db = Database(url)
        try:
            async with db.read() as conn:
                user = await find_login(conn, username)
            if user is None or user.username.lower() != username.lower():
                print(f"todohub: no user named {username!r}", file=sys.stderr)
                return 1
            async with db.write() as conn:
                told = await leave_every_list(conn, user.id, Limits(settings.max_list_members,
                                                                    settings.max_lists))
                await delete_user(conn, user.id)
        finally:
            await db.dispose()
        print(f"deleted user {user.username} ({user.id})")
        if reaches_other_processes(settings.redis_url):
            from hub.brokers.redis import publish_once

            try:
                await publish_once(settings.redis_url, settings.redis_prefix,
                                   room_name(user.id), revoke_message(None))
                for member, seq, frame in told:
                    await publish_once(settings.redis_url, settings.redis_prefix,
                                       room_name(member), change_message(seq, frame))
            except Exception as exc:
                print(f"todohub: could not reach Redis ({exc.__class__.__name__}): the hubs "
                      "drop this user's sockets when they next check the session",
                      file=sys.stderr)
        else:
            print("a running hub without Redis closes this user's sockets when it next checks "
                  "their session (at the latest when their access tokens expire)")
        return 0

    os.makedirs(settings.data_dir, exist_ok=True)
    return asyncio.run(run())


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``todohub`` command."""
    parser = argparse.ArgumentParser(prog="todohub", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_setting_options(commands.add_parser("serve", help="run the hub"))
    _add_setting_options(commands.add_parser("migrate", help="migrate the database to head"))
    user = commands.add_parser("user", help="manage users")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument("--password", help="the password (asked for when absent)")
    create.add_argument("--email")
    _add_setting_options(create)
    remove = user_commands.add_parser("delete", help="delete a user and all of their data")
    remove.add_argument("username")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _add_setting_options(remove)
    token_command.add_parser(commands, _add_setting_options)
    client_cli.add_parsers(commands)
    args = parser.parse_args(argv)
    if args.command in client_cli.COMMANDS:
        sys.exit(client_cli.run(args))
    settings = _settings(args)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "serve":
        code = serve(settings)
    elif args.command == "migrate":
        code = migrate(settings)
    elif args.command == "token":
        code = token_command.run(settings, args)
    elif args.user_command == "delete":
        code = delete_user_command(settings, args.username, args.yes)
    else:
        code = create_user_command(settings, args.username, args.password, args.email)
    sys.exit(code)
