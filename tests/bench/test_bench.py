"""Smoke runs of the benchmarks with tiny numbers: they must run end to end and count
correctly (nothing lost, nothing repeated, everything persisted). Speed is never asserted
here; the numbers that matter come from running ``python -m bench`` by hand."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bench.accounts import post_with_resends
from bench.atrest import AtRestConfig, run_at_rest
from bench.compare import Side, compare, paired
from bench.connections import ConnectionsConfig, run_connections
from bench.createcpu import cpu_per_create
from bench.fanout import FanoutConfig, run_fanout
from bench.hellocpu import cpu_per_hello
from bench.sharing import SharingConfig, run_sharing
from bench.storm import HellosConfig, StormConfig, run_hellos, run_storm
from bench.throughput import ThroughputConfig, run_throughput
from tests.conftest import skip_or_fail
from tests.services import PG_ADMIN_URL, postgres_problem

DEADLINE = 90.0


async def test_fanout_delivers_every_change_once_in_order(tmp_path: Path) -> None:
    """5 users x 2 devices, 50 creates/s for 2 s: every create acked, every change reaches
    the other device and the sender once, in seq order, and latencies are measured."""
    config = FanoutConfig(users=5, devices=2, rate=50, duration=2, warmup=0, drain=10,
                          data_dir=str(tmp_path))
    async with asyncio.timeout(DEADLINE):
        result = await run_fanout(config)
    assert result.sockets == 10
    assert result.commands_sent == 100
    assert result.commands_acked == 100, result.report()
    assert result.command_errors == {}
    assert result.deliveries_expected == 100
    assert result.deliveries_received == 100
    assert result.deliveries_lost == 0
    assert result.deliveries_repeated == 0
    assert result.out_of_order == 0
    assert result.own_received == result.own_expected == 100
    assert result.latency.count == 100 and result.ack_latency.count == 100
    assert result.hub_peak_memory_kib > 0
    assert result.ok


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "deflate"])
async def test_connections_open_and_stay_open(tmp_path: Path, deflate: bool) -> None:
    """50 idle authenticated sockets (with the client's own codec, or websockets' with
    compression) all reach synced and are still open after a pause; the hub's memory is
    read."""
    config = ConnectionsConfig(count=50, devices=2, hold=0.5, data_dir=str(tmp_path),
                               deflate=deflate)
    async with asyncio.timeout(DEADLINE):
        result = await run_connections(config)
    assert result.users == 25
    assert result.opened == 50
    assert result.still_open == 50
    assert result.hub_rss_after_kib > 0 and result.hub_peak_kib > 0
    assert result.ok


async def test_throughput_persists_every_acked_command_on_sqlite(tmp_path: Path) -> None:
    """200 creates on SQLite: each acked once, each persisted (read back over REST), each
    user's seqs 1..n."""
    config = ThroughputConfig(backends=("sqlite",), workers=(1,), users=10, window=4,
                              commands=200, data_dir=str(tmp_path))
    async with asyncio.timeout(DEADLINE):
        result = await run_throughput(config)
    (row,) = result.rows
    assert row.skipped is None
    assert row.sent == row.acked == row.persisted == 200, result.report()
    assert row.errors == {}
    assert row.persisted_ok and row.seqs_ok
    assert result.ok


@pytest.mark.services
async def test_throughput_persists_every_acked_command_on_postgres(tmp_path: Path) -> None:
    """The same 200 creates on a fresh PostgreSQL database."""
    problem = await postgres_problem()
    if problem:
        skip_or_fail(problem)
    config = ThroughputConfig(backends=("postgres",), workers=(1,), users=10, window=4,
                              commands=200, postgres_url=PG_ADMIN_URL, data_dir=str(tmp_path))
    async with asyncio.timeout(DEADLINE):
        result = await run_throughput(config)
    (row,) = result.rows
    assert row.skipped is None, row.skipped
    assert row.sent == row.acked == row.persisted == 200, result.report()
    assert row.persisted_ok and row.seqs_ok
    assert result.ok


async def test_sharing_delivers_every_write_to_every_member_device(tmp_path: Path) -> None:
    """3 members x 2 devices, 30 writes/s for 1 s, shared and private: every write acked and
    delivered once, in order, to every device that must get it."""
    config = SharingConfig(members=3, devices=2, rate=30, duration=1, warmup=0, drain=10,
                           data_dir=str(tmp_path))
    async with asyncio.timeout(DEADLINE):
        result = await run_sharing(config)
    shared, private = result.runs
    assert (shared.mode, private.mode) == ("shared", "private")
    assert shared.writes_sent == shared.writes_acked == 30, result.report()
    assert shared.deliveries_expected == shared.deliveries_received == 30 * 6
    assert private.deliveries_expected == private.deliveries_received == 30 * 2
    for run in result.runs:
        assert run.deliveries_lost == run.deliveries_repeated == run.out_of_order == 0
        assert run.last_device.count == 30 and not run.errors
    assert result.ok


async def test_storm_brings_every_device_back_with_exactly_what_it_missed(
        tmp_path: Path) -> None:
    """20 sockets, the hub restarted while 10 were away and 2 creates each were made: all 20
    reconnect at once and get exactly the changes after their since, once, in order."""
    config = StormConfig(count=20, devices=2, missed=2, data_dir=str(tmp_path))
    async with asyncio.timeout(DEADLINE):
        result = await run_storm(config)
    assert result.synced == result.sockets == 20, result.report()
    assert result.errors == []
    assert result.changes_expected == result.changes_received == 10 * 2
    assert result.repeated == result.out_of_order == result.behind == 0
    assert result.ok


@pytest.mark.parametrize("mode", ["since", "snapshot"])
async def test_hellos_give_each_device_what_its_since_asks_for(tmp_path: Path,
                                                               mode: str) -> None:
    """12 devices resuming one change behind, or taking a snapshot of 5 todos: all synced,
    each with its one change or its whole snapshot."""
    config = HellosConfig(count=12, devices=2, mode=mode, todos=5, concurrency=4,
                          data_dir=str(tmp_path))
    async with asyncio.timeout(DEADLINE):
        result = await run_hellos(config)
    assert result.synced == 12 and result.errors == [], result.report()
    assert result.wrong == 0
    assert result.ok


async def test_hellocpu_brings_every_socket_of_every_wave_to_synced(tmp_path: Path) -> None:
    """The in-process hello path: 4 waves of 5 resuming hellos each end in synced (it raises
    otherwise), and each wave's CPU is counted."""
    async with asyncio.timeout(DEADLINE):
        times = await cpu_per_hello(users=8, concurrency=5, rounds=4, profile=None,
                                    data_dir=tmp_path / "hub")
    assert len(times) == 4 and all(t > 0 for t in times)


async def test_createcpu_acks_every_create_and_delivers_it_to_the_other_device(
        tmp_path: Path) -> None:
    """The in-process write path: 6 waves of 2 creates each are acked on the sending device
    and reach the user's other device (it raises otherwise), and each wave's CPU is
    counted."""
    async with asyncio.timeout(DEADLINE):
        times = await cpu_per_create(users=3, concurrency=2, rounds=6, profile=None,
                                     data_dir=tmp_path / "hub")
    assert len(times) == 6 and all(t > 0 for t in times)


async def test_at_rest_signs_users_in_with_real_hashing_and_reads_memory(
        tmp_path: Path) -> None:
    """3 users sign in with the hub's default argon2 costs and each syncs a socket; the
    memory figures are read from the hub process."""
    config = AtRestConfig(users=3, hold=0.2, data_dir=str(tmp_path))
    async with asyncio.timeout(DEADLINE):
        result = await run_at_rest(config)
    assert result.ok, result.report()
    assert 0 < result.rss_before_kib <= result.rss_peak_kib
    assert 0 < result.rss_at_rest_kib <= result.rss_peak_kib


async def test_floor_serves_the_fanout_benchmark(tmp_path: Path) -> None:
    """The floor peer speaks enough of the protocol for fan-out: every create acked and its
    change delivered once, in order, to both devices."""
    config = FanoutConfig(users=3, devices=2, rate=30, duration=1, warmup=0, drain=10,
                          data_dir=str(tmp_path), target="floor")
    async with asyncio.timeout(DEADLINE):
        result = await run_fanout(config)
    assert result.commands_acked == 30 and result.deliveries_received == 30, result.report()
    assert result.ok


async def test_floor_serves_the_storm(tmp_path: Path) -> None:
    """The floor keeps its log across a restart and replays what each device missed."""
    config = StormConfig(count=10, devices=2, missed=1, data_dir=str(tmp_path),
                         target="floor")
    async with asyncio.timeout(DEADLINE):
        result = await run_storm(config)
    assert result.changes_received == result.changes_expected == 5, result.report()
    assert result.ok


def test_compare_runs_both_sides_and_prints_the_ratio() -> None:
    """compare runs the benchmark once on each side and reports both as correct."""
    report = compare("floor", ".", "connections", ["--count", "10", "--hold", "0"], rounds=1)
    assert "B / A" in report and "sockets/s" in report and "paired B / A" in report
    assert report.count("correctness   OK") == 2, report


def test_paired_ratio_is_taken_round_by_round() -> None:
    """Each round's B over the same round's A: a drift of the machine that falls on both
    runs of a round cancels, and a round where either side did not report is left out."""
    a = Side("a", runs=[{"p99": 1.0}, {"p99": 4.0}, None, {"p99": 2.0}])
    b = Side("b", runs=[{"p99": 2.0}, {"p99": 8.0}, {"p99": 1.0}, {"other": 1.0}])
    mean, low, high = paired(a, b, "p99") or (0.0, 0.0, 0.0)
    assert (round(mean, 9), low, high) == (2.0, 2.0, 2.0)
    # The ratio of the medians would say 2.0 / 2.0 = 1.0 here.
    assert (a.median("p99"), b.median("p99")) == (2.0, 2.0)
    assert paired(a, b, "missing") is None
    assert paired(Side("a", runs=[{"x": 0.0}]), Side("b", runs=[{"x": 1.0}]), "x") is None


async def test_a_request_lost_with_its_connection_is_sent_again() -> None:
    """The set-up's REST calls survive a connection that ends without an answer (a kept-alive
    one the server closed as idle just as the request left): the request goes again, and the
    caller is told it was sent more than once (a 409 to a registration is then its own)."""
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        requests.append(head + await reader.readexactly(length))
        if len(requests) > 1:
            writer.write(b"HTTP/1.1 409 Conflict\r\ncontent-length: 0\r\n"
                         b"connection: close\r\n\r\n")
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            body = {"username": "u", "password": "p"}
            answer, resent = await post_with_resends(http, "/api/auth/register", body)
            assert len(requests) == 2  # the first connection ended without an answer
            assert (answer.status_code, resent) == (409, True)
            requests.clear()
            requests.append(b"")  # the next connection answers at once
            answer, resent = await post_with_resends(http, "/api/auth/register", body)
            assert len(requests) == 2
            assert (answer.status_code, resent) == (409, False)
    finally:
        server.close()
        await server.wait_closed()
