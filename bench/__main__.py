"""``python -m bench fanout|connections|throughput|sharing|storm|hellos|atrest|compare``: run a
benchmark, print what it measured."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        print("bench: uvloop is not installed; using the default event loop", file=sys.stderr)
        return asyncio.run(main())
    return uvloop.run(main())


def _hub_args(raw: list[str] | None) -> tuple[str, ...]:
    args: list[str] = []
    for item in raw or []:
        args += item.split()
    return tuple(args)


def _print(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict() if hasattr(result, "to_dict") else asdict(result),
                         indent=2, default=str))
    else:
        print(result.report())


def _fanout(args: argparse.Namespace) -> int:
    from bench.fanout import FanoutConfig, run_fanout

    config = FanoutConfig(
        users=args.users, devices=args.devices, rate=args.rate, duration=args.duration,
        warmup=args.warmup, drain=args.drain, database_url=args.database or "",
        redis_url=args.redis or "", workers=args.workers, deflate=args.deflate,
        source_addresses=args.source_addresses, hub_args=_hub_args(args.hub_arg),
        profile=args.profile, data_dir=args.data_dir, target=args.target,
    )
    result = _run(lambda: run_fanout(config))
    _print(result, args.json)
    return 0 if result.ok else 1


def _connections(args: argparse.Namespace) -> int:
    from bench.connections import ConnectionsConfig, run_connections

    config = ConnectionsConfig(
        count=args.count, devices=args.devices, concurrency=args.concurrency, hold=args.hold,
        source_addresses=args.source_addresses, deflate=args.deflate,
        database_url=args.database or "", redis_url=args.redis or "", workers=args.workers,
        hub_args=_hub_args(args.hub_arg), profile=args.profile, data_dir=args.data_dir,
        target=args.target,
    )
    result = _run(lambda: run_connections(config))
    _print(result, args.json)
    return 0 if result.ok else 1


def _throughput(args: argparse.Namespace) -> int:
    from bench.throughput import ThroughputConfig, run_throughput

    config = ThroughputConfig(
        backends=tuple(args.backends.split(",")),
        workers=tuple(int(w) for w in args.workers.split(",")),
        users=args.users, window=args.window, duration=args.duration,
        commands=args.commands, postgres_url=args.database or DEFAULT_POSTGRES,
        redis_url=args.redis or DEFAULT_REDIS, hub_args=_hub_args(args.hub_arg),
        data_dir=args.data_dir,
    )
    result = _run(lambda: run_throughput(config))
    _print(result, args.json)
    return 0 if result.ok else 1


def _sharing(args: argparse.Namespace) -> int:
    from bench.sharing import SharingConfig, run_sharing

    config = SharingConfig(
        members=args.members, devices=args.devices, rate=args.rate, duration=args.duration,
        warmup=args.warmup, drain=args.drain, modes=tuple(args.modes.split(",")),
        database_url=args.database or "", redis_url=args.redis or "", workers=args.workers,
        hub_args=_hub_args(args.hub_arg), data_dir=args.data_dir,
    )
    result = _run(lambda: run_sharing(config))
    _print(result, args.json)
    return 0 if result.ok else 1


def _storm(args: argparse.Namespace) -> int:
    from bench.storm import StormConfig, run_storm

    config = StormConfig(
        count=args.count, devices=args.devices, missed=args.missed,
        concurrency=args.concurrency, source_addresses=args.source_addresses,
        database_url=args.database or "", redis_url=args.redis or "", workers=args.workers,
        hub_args=_hub_args(args.hub_arg), data_dir=args.data_dir, target=args.target,
    )
    result = _run(lambda: run_storm(config))
    _print(result, args.json)
    return 0 if result.ok else 1


def _hellos(args: argparse.Namespace) -> int:
    from bench.storm import HellosConfig, run_hellos

    config = HellosConfig(
        count=args.count, devices=args.devices, mode=args.mode, todos=args.todos,
        concurrency=args.concurrency, source_addresses=args.source_addresses,
        database_url=args.database or "", redis_url=args.redis or "", workers=args.workers,
        hub_args=_hub_args(args.hub_arg), data_dir=args.data_dir, target=args.target,
        profile=args.profile,
    )
    result = _run(lambda: run_hellos(config))
    _print(result, args.json)
    return 0 if result.ok else 1


def _at_rest(args: argparse.Namespace) -> int:
    from bench.atrest import AtRestConfig, run_at_rest

    config = AtRestConfig(users=args.users, hold=args.hold, database_url=args.database or "",
                          hub_args=_hub_args(args.hub_arg), data_dir=args.data_dir)
    result = _run(lambda: run_at_rest(config))
    _print(result, args.json)
    return 0 if result.ok else 1


def _compare(args: argparse.Namespace) -> int:
    from bench.compare import compare

    report = compare(args.a, args.b, args.benchmark, args.options, args.rounds)
    print(report)
    return 0 if "FAILED" not in report else 1


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default="", metavar="WHAT",
                        help="what serves: this checkout's hub (default), 'floor' (a bare "
                             "websockets server with aiosqlite, bench/floor.py) or the path of "
                             "another checkout (e.g. a `git worktree` of main)")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--hub-arg", action="append", metavar="ARGS",
                        help="extra options for `python -m hub serve` (repeatable)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="keep the hub's data folder and its log (hub.log) here; "
                             "default: a temporary folder, removed afterwards")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    fanout = commands.add_parser("fanout", help="fan-out latency and loss")
    fanout.add_argument("--users", type=int, default=1000)
    fanout.add_argument("--devices", type=int, default=2, help="sockets per user")
    fanout.add_argument("--rate", type=float, default=1000.0, help="creates per second, total")
    fanout.add_argument("--duration", type=float, default=10.0, help="seconds of sending")
    fanout.add_argument("--warmup", type=float, default=1.0,
                        help="first seconds whose latencies are not counted (losses are)")
    fanout.add_argument("--drain", type=float, default=15.0,
                        help="seconds to wait for the last acks and deliveries")
    fanout.add_argument("--database", metavar="URL",
                        help=f"PostgreSQL server (a fresh database is created on it), "
                             f"e.g. {DEFAULT_POSTGRES}; default: SQLite")
    fanout.add_argument("--redis", metavar="URL",
                        help=f"Redis broker, e.g. {DEFAULT_REDIS}; default: in-process broker")
    fanout.add_argument("--workers", type=int, default=1, help="hub processes (needs --redis)")
    fanout.add_argument("--deflate", action="store_true",
                        help="offer permessage-deflate like a browser does")
    fanout.add_argument("--source-addresses", type=int, default=1,
                        help="spread client sockets over 127.0.0.2.. (for many sockets)")
    fanout.add_argument("--profile", metavar="FILE",
                        help="profile the hub: FILE.prof runs it under cProfile; other names "
                             "record it with py-spy during the timed run (.svg flamegraph, "
                             ".json speedscope, else collapsed stacks)")
    _common(fanout)
    _target(fanout)
    fanout.set_defaults(func=_fanout)

    connections = commands.add_parser("connections", help="idle sockets: memory and open time")
    connections.add_argument("--count", type=int, default=20000, help="sockets to open")
    connections.add_argument("--devices", type=int, default=2, help="sockets per user")
    connections.add_argument("--concurrency", type=int, default=256,
                             help="handshakes in flight at once")
    connections.add_argument("--hold", type=float, default=5.0,
                             help="seconds to keep them idle before measuring")
    connections.add_argument("--source-addresses", type=int, default=1,
                             help="spread client sockets over 127.0.0.2.. (ephemeral ports)")
    connections.add_argument("--deflate", action="store_true",
                             help="offer permessage-deflate like a browser does")
    connections.add_argument("--database", metavar="URL", help="PostgreSQL server")
    connections.add_argument("--redis", metavar="URL", help="Redis broker")
    connections.add_argument("--workers", type=int, default=1)
    connections.add_argument("--profile", metavar="FILE",
                             help="profile the hub while the sockets open (as for fanout)")
    _common(connections)
    _target(connections)
    connections.set_defaults(func=_connections)

    throughput = commands.add_parser("throughput", help="persisted commands per second")
    throughput.add_argument("--backends", default="sqlite,postgres",
                            help="comma-separated: sqlite, postgres")
    throughput.add_argument("--workers", default="1,2",
                            help="comma-separated hub process counts (more than one uses Redis)")
    throughput.add_argument("--users", type=int, default=100, help="users, one socket each")
    throughput.add_argument("--window", type=int, default=16,
                            help="creates in flight per socket")
    throughput.add_argument("--duration", type=float, default=10.0, help="seconds per setup")
    throughput.add_argument("--commands", type=int,
                            help="stop after this many creates per setup (instead of a duration)")
    throughput.add_argument("--database", metavar="URL",
                            help=f"PostgreSQL server (default {DEFAULT_POSTGRES}); a fresh "
                                 "database is created and dropped")
    throughput.add_argument("--redis", metavar="URL",
                            help=f"Redis for several processes (default {DEFAULT_REDIS})")
    _common(throughput)
    throughput.set_defaults(func=_throughput)

    sharing = commands.add_parser(
        "sharing", help="a shared list's fan-out to every member, next to private lists")
    sharing.add_argument("--members", type=int, default=10)
    sharing.add_argument("--devices", type=int, default=2, help="sockets per member")
    sharing.add_argument("--rate", type=float, default=200.0, help="writes per second, total")
    sharing.add_argument("--duration", type=float, default=30.0, help="seconds of sending")
    sharing.add_argument("--warmup", type=float, default=1.0,
                         help="first seconds whose latencies are not counted (losses are)")
    sharing.add_argument("--drain", type=float, default=15.0,
                         help="seconds to wait for the last acks and deliveries")
    sharing.add_argument("--modes", default="shared,private",
                         help="comma-separated: shared (one list of every member), private "
                              "(each member's inbox)")
    sharing.add_argument("--database", metavar="URL", help="PostgreSQL server; default SQLite")
    sharing.add_argument("--redis", metavar="URL", help="Redis broker; default in-process")
    sharing.add_argument("--workers", type=int, default=1, help="hub processes (needs --redis)")
    _common(sharing)
    sharing.set_defaults(func=_sharing)

    storm = commands.add_parser(
        "storm", help="a restart: every socket reconnects at once with its since")
    storm.add_argument("--count", type=int, default=2000, help="sockets")
    storm.add_argument("--devices", type=int, default=2, help="sockets per user")
    storm.add_argument("--missed", type=int, default=2,
                       help="creates each user makes while its other devices are away")
    storm.add_argument("--concurrency", type=int, default=100000,
                       help="reconnects in flight at once (default: all)")
    hellos = commands.add_parser("hellos", help="hello-to-synced rate")
    hellos.add_argument("--count", type=int, default=2000, help="sockets")
    hellos.add_argument("--devices", type=int, default=2, help="sockets per user")
    hellos.add_argument("--mode", default="since",
                        help="since (resume one change behind) or snapshot (since null)")
    hellos.add_argument("--todos", type=int, default=50, help="todos per user (snapshot)")
    hellos.add_argument("--concurrency", type=int, default=50, help="hellos in flight at once")
    hellos.add_argument("--profile", metavar="FILE",
                        help="FILE.prof runs the hub under cProfile (its whole life); other "
                             "names attach py-spy during the hellos (as for fanout)")
    for parser_ in (storm, hellos):
        parser_.add_argument("--source-addresses", type=int, default=1,
                             help="spread client sockets over 127.0.0.2.. (ephemeral ports)")
        parser_.add_argument("--database", metavar="URL", help="PostgreSQL server")
        parser_.add_argument("--redis", metavar="URL", help="Redis broker")
        parser_.add_argument("--workers", type=int, default=1)
        _common(parser_)
        _target(parser_)
    storm.set_defaults(func=_storm)
    hellos.set_defaults(func=_hellos)

    at_rest = commands.add_parser(
        "atrest", help="memory at rest after sign-ins with the default password hashing")
    at_rest.add_argument("--users", type=int, default=200, help="users who register and log in")
    at_rest.add_argument("--hold", type=float, default=5.0,
                         help="seconds of quiet before the memory is read")
    at_rest.add_argument("--database", metavar="URL", help="PostgreSQL server; default SQLite")
    _common(at_rest)
    at_rest.set_defaults(func=_at_rest)

    comparing = commands.add_parser(
        "compare", help="one benchmark against two servers, alternating, with the ratio")
    comparing.add_argument("--a", required=True, metavar="TARGET",
                           help="'.' (this checkout), 'floor', or another checkout's path")
    comparing.add_argument("--b", required=True, metavar="TARGET", action="append",
                           help="repeat to compare several against A")
    comparing.add_argument("--rounds", type=int, default=2, help="runs per side")
    comparing.add_argument("benchmark", help="fanout, connections, storm or hellos")
    comparing.add_argument("options", nargs=argparse.REMAINDER,
                           help="the benchmark's own options")
    comparing.set_defaults(func=_compare)

    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
