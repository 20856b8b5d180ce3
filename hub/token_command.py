"""``todohub token create``: an operator makes a personal access token for a user, straight
in the database (no password needed), and gets its secret on standard output."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable

from hub.config import Settings


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser],
               add_settings: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``token create`` to the command line."""
    token = commands.add_parser("token", help="manage personal access tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="make an access token for a user")
    create.add_argument("--user", required=True, help="the user's name (or email)")
    create.add_argument("--name", required=True, help="what the token is for")
    create.add_argument("--scope", choices=("read", "write"), default="read")
    create.add_argument("--expires-in", type=int, default=None, metavar="SECONDS",
                        help="lifetime in seconds (default: no expiry)")
    add_settings(create)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Make the token; prints its secret alone on stdout, what it is on stderr."""
    from auth.access_tokens import BadTokenRequest, create_token
    from storage.engine import Database
    from storage.migrate import upgrade
    from storage.users import find_login

    async def make() -> int:
        url = settings.resolved_database_url
        await upgrade(url)
        db = Database(url)
        try:
            async with db.write() as conn:
                user = await find_login(conn, args.user)
                if user is None:
                    print(f"todohub: no user {args.user!r}", file=sys.stderr)
                    return 1
                if user.guest:
                    print(f"todohub: {args.user!r} is a guest account; guests get no tokens",
                          file=sys.stderr)
                    return 1
                record, secret = await create_token(conn, user.id, args.name, args.scope,
                                                    args.expires_in)
        except BadTokenRequest as exc:
            print(f"todohub: {exc}", file=sys.stderr)
            return 2
        finally:
            await db.dispose()
        expiry = record.expires_at or "never"
        print(f"created token {record.name!r} ({record.id}) for {user.username}, scope "
              f"{record.scope}, expires {expiry}", file=sys.stderr)
        print(secret)
        return 0

    os.makedirs(settings.data_dir, exist_ok=True)
    return asyncio.run(make())
