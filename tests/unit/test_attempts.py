"""Attempt counters: reserved before the work, atomic across keys, released on success."""

from __future__ import annotations

import pytest

from hub.attempts import Reservation, Rule
from hub.attempts.memory import MemoryAttempts


async def test_reserve_release_and_windows() -> None:
    """Past the limit of any key nothing is recorded and the wait is the oldest's way out of
    the window; a released attempt does not count; a limit of 0 is no limit."""
    now = [0.0]
    attempts = MemoryAttempts(clock=lambda: now[0])
    pair, user = Rule("a|ann", 2, 10), Rule("ann", 3, 10)
    first = await attempts.reserve([pair, user])
    assert isinstance(first, Reservation)
    now[0] = 1
    assert isinstance(await attempts.reserve([pair, user]), Reservation)
    assert await attempts.reserve([pair, user]) == pytest.approx(9)
    # Another address has room of its own but shares the username's window.
    other = Rule("b|ann", 2, 10)
    assert isinstance(await attempts.reserve([other, user]), Reservation)
    assert await attempts.reserve([other, user]) == pytest.approx(9)
    await attempts.release(first)
    assert isinstance(await attempts.reserve([other, user]), Reservation)
    now[0] = 11.5
    assert isinstance(await attempts.reserve([pair, user]), Reservation)
    for _ in range(100):
        assert isinstance(await attempts.reserve([Rule("x", 0, 1)]), Reservation)
    await attempts.clear("x")


def test_client_address_groups_ipv6_hosts_by_their_64() -> None:
    """Per-address limits see an IPv6 client as its /64 (one host can rotate through it),
    an IPv4-mapped address as the IPv4 one, and IPv4 as itself."""
    from starlette.requests import Request

    from hub.rest.common import client_address

    def address(host: str) -> str:
        return client_address(Request({"type": "http", "client": (host, 1234), "headers": []}))

    same = {address("2001:db8:1:2:aaaa::1"), address("2001:db8:1:2:ffff::9")}
    assert same == {"2001:db8:1:2::/64"}
    assert address("2001:db8:1:3::1") != address("2001:db8:1:2::1")
    assert address("::ffff:203.0.113.7") == "203.0.113.7"
    assert address("203.0.113.7") == "203.0.113.7"
