"""Accounts and tokens over REST: register, login, refresh rotation, logout, guests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest

from tests.client import PASSWORD, Device, bearer, register
from tests.servers import RunningHub


async def test_register_rules(hub: RunningHub) -> None:
    """Register answers 201 with the user, 409 for a taken name, 422 for weak passwords."""
    async with httpx.AsyncClient(base_url=hub.url) as http:
        created = await http.post("/api/auth/register", json={
            "username": "ann", "password": PASSWORD, "email": "ann@example.org"})
        assert created.status_code == 201
        user = created.json()
        assert user["username"] == "ann" and user["guest"] is False and "password" not in user
        assert set(user) == {"id", "username", "email", "guest", "created_at"}
        taken = await http.post("/api/auth/register", json={"username": "ANN",
                                                            "password": PASSWORD})
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
        for weak in ("short1A", "alllowercase", "ALLUPPERCASE", "1234567890", "!!!!!!!!!!"):
            answer = await http.post("/api/auth/register",
                                     json={"username": "bob", "password": weak})
            assert answer.status_code == 422, weak
            assert answer.json()["error"]["details"][0]["field"] == "password"
            assert answer.json()["error"]["details"][0]["reason"]
        by_email = await http.post("/api/auth/login", json={"username": "ann@example.org",
                                                            "password": PASSWORD})
        assert by_email.status_code == 200
        me = await http.get("/api/auth/me", headers=bearer(by_email.json()))
        assert me.json() == user


async def test_failed_logins_look_alike_and_then_429(hub: RunningHub) -> None:
    """Unknown user and wrong password answer the same 401; repeated failures answer 429."""
    await register(hub, "carol")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        unknown = await http.post("/api/auth/login", json={"username": "nobody",
                                                           "password": PASSWORD})
        wrong = await http.post("/api/auth/login", json={"username": "carol",
                                                         "password": "Wrong-password-1"})
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json() == wrong.json()
        statuses = []
        for _ in range(hub.settings.login_max_failures + 1):
            answer = await http.post("/api/auth/login", json={"username": "carol",
                                                              "password": "Wrong-password-1"})
            statuses.append(answer.status_code)
        assert statuses[-1] == 429
        assert int(answer.headers["Retry-After"]) >= 1
        blocked = await http.post("/api/auth/login", json={"username": "carol",
                                                           "password": PASSWORD})
        assert blocked.status_code == 429


async def test_refresh_rotates_and_reuse_revokes_the_session(
    hub_factory: Callable[..., RunningHub]
) -> None:
    """Each refresh gives a new pair; presenting a spent refresh token (here without a grace)
    revokes its session."""
    hub = hub_factory(refresh_grace=0)
    tokens = await register(hub)
    device = await Device.connect(hub, tokens["access_token"])
    async with httpx.AsyncClient(base_url=hub.url) as http:
        second = await http.post("/api/auth/refresh",
                                 json={"refresh_token": tokens["refresh_token"]})
        assert second.status_code == 200
        pair = second.json()
        assert pair["refresh_token"] != tokens["refresh_token"]
        assert pair["token_type"] == "bearer" and pair["expires_in"] == hub.settings.access_ttl
        reused = await http.post("/api/auth/refresh",
                                 json={"refresh_token": tokens["refresh_token"]})
        assert reused.status_code == 401
        # The whole family is gone: the newest refresh and access tokens no longer work.
        assert (await http.post("/api/auth/refresh",
                                json={"refresh_token": pair["refresh_token"]})).status_code == 401
        assert (await http.get("/api/auth/me", headers=bearer(pair))).status_code == 401
    assert (await device.wait_closed(5))[0] == 4401
    await device.close()


async def _refresh(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/api/auth/refresh", json={"refresh_token": token})


async def test_a_refresh_retried_within_the_grace_gets_the_same_pair(
    hub_factory: Callable[..., RunningHub]
) -> None:
    """A refresh presented again within the grace answers the very pair the first got, and
    that pair works; two presentations racing both get it; once the new refresh token was
    used, the old one is reuse again and revokes the session."""
    hub = hub_factory(refresh_grace=30)
    tokens = await register(hub)
    async with httpx.AsyncClient(base_url=hub.url) as http:
        first = await _refresh(http, tokens["refresh_token"])
        again = await _refresh(http, tokens["refresh_token"])
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert (await http.get("/api/auth/me", headers=bearer(again.json()))).status_code == 200
        racing = await asyncio.gather(*(_refresh(http, first.json()["refresh_token"])
                                        for _ in range(2)))
        assert [r.status_code for r in racing] == [200, 200]
        assert racing[0].json() == racing[1].json()
        assert racing[0].json()["refresh_token"] != first.json()["refresh_token"]
        third = await _refresh(http, racing[0].json()["refresh_token"])
        assert third.status_code == 200
        # The second token's successor is spent: presenting the second again is reuse.
        reused = await _refresh(http, first.json()["refresh_token"])
        assert reused.status_code == 401
        assert (await _refresh(http, third.json()["refresh_token"])).status_code == 401


async def test_reuse_after_the_grace_revokes(hub_factory: Callable[..., RunningHub]) -> None:
    """After the grace a spent refresh token is reuse: 401, and the session is revoked."""
    hub = hub_factory(refresh_grace=0.5)
    tokens = await register(hub)
    async with httpx.AsyncClient(base_url=hub.url) as http:
        first = await _refresh(http, tokens["refresh_token"])
        assert first.status_code == 200
        spent_at = time.monotonic()
        while time.monotonic() < spent_at + 1.0:  # let the grace run out
            await asyncio.sleep(0.1)
        assert (await _refresh(http, tokens["refresh_token"])).status_code == 401
        assert (await _refresh(http, first.json()["refresh_token"])).status_code == 401
        assert (await http.get("/api/auth/me", headers=bearer(first.json()))).status_code == 401


async def test_logout_this_session_only(hub: RunningHub) -> None:
    """Logout revokes the session it is called with; another session keeps working."""
    first = await register(hub, "dave")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        second = (await http.post("/api/auth/login",
                                  json={"username": "dave", "password": PASSWORD})).json()
        out = await http.post("/api/auth/logout", json={"refresh_token": first["refresh_token"]})
        assert out.status_code == 204
        assert (await http.get("/api/auth/me", headers=bearer(first))).status_code == 401
        assert (await http.post("/api/auth/refresh",
                                json={"refresh_token": first["refresh_token"]})).status_code == 401
        assert (await http.get("/api/auth/me", headers=bearer(second))).status_code == 200


async def test_guest_then_upgrade_keeps_todos(hub: RunningHub) -> None:
    """A guest gets tokens at once; upgrading keeps its todos and allows a normal login."""
    async with httpx.AsyncClient(base_url=hub.url) as http:
        guest = await http.post("/api/auth/guest")
        assert guest.status_code == 201
        tokens = guest.json()
        assert tokens["user"]["guest"] is True
        created = await http.post("/api/todos", json={"title": "guest todo"},
                                  headers=bearer(tokens))
        assert created.status_code == 201
        weak = await http.post("/api/auth/upgrade", json={"username": "erin", "password": "weak"},
                               headers=bearer(tokens))
        assert weak.status_code == 422
        upgraded = await http.post("/api/auth/upgrade",
                                   json={"username": "erin", "password": PASSWORD},
                                   headers=bearer(tokens))
        assert upgraded.status_code == 200
        assert upgraded.json()["user"]["guest"] is False
        assert upgraded.json()["user"]["id"] == tokens["user"]["id"]
        again = await http.post("/api/auth/upgrade",
                                json={"username": "erin2", "password": PASSWORD},
                                headers=bearer(upgraded.json()))
        assert again.status_code == 409
        login = await http.post("/api/auth/login", json={"username": "erin",
                                                         "password": PASSWORD})
        listing = await http.get("/api/todos", headers=bearer(login.json()))
        assert [t["title"] for t in listing.json()["items"]] == ["guest todo"]


@pytest.mark.parametrize("enabled", [False])
async def test_guests_can_be_turned_off(hub_factory: object, enabled: bool) -> None:
    """With guests disabled, POST /api/auth/guest answers 403."""
    hub = hub_factory(guest_enabled=enabled)  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=hub.url) as http:
        answer = await http.post("/api/auth/guest")
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


async def test_guest_creation_is_rate_limited(hub_factory: object) -> None:
    """Guest accounts per client address are limited; past the burst the answer is 429."""
    hub = hub_factory(guest_rate=0.01, guest_burst=3)  # type: ignore[operator]
    async with httpx.AsyncClient(base_url=hub.url) as http:
        statuses = [(await http.post("/api/auth/guest")).status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]


async def _wrong_login(http: httpx.AsyncClient, username: str, address: str | None) -> int:
    headers = {"X-Forwarded-For": address} if address else {}
    answer = await http.post("/api/auth/login", headers=headers,
                             json={"username": username, "password": "Wrong-password-9"})
    return answer.status_code


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    hub_factory: Callable[..., RunningHub]
) -> None:
    """A client that is not a configured proxy cannot pick its address with X-Forwarded-For:
    a new value per request neither resets the login limit nor the guest limit."""
    hub = hub_factory(trusted_proxies="10.9.8.7", login_max_failures=3,
                      login_user_max_failures=0, guest_rate=0.001, guest_burst=2)
    await register(hub, "gus")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        statuses = [await _wrong_login(http, "gus", f"203.0.113.{n}") for n in range(6)]
        assert statuses == [401, 401, 401, 429, 429, 429]
        guests = [(await http.post("/api/auth/guest", headers={
            "X-Forwarded-For": f"198.51.100.{n}"})).status_code for n in range(4)]
        assert guests == [201, 201, 429, 429]


async def test_failed_logins_count_per_username_across_addresses(
    hub_factory: Callable[..., RunningHub]
) -> None:
    """Behind a trusted proxy each address has its own count, and the username has one over
    all addresses: three addresses do not get three times the guesses."""
    hub = hub_factory(trusted_proxies="127.0.0.1", login_max_failures=3,
                      login_user_max_failures=5)
    await register(hub, "hal")
    await register(hub, "ida")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        first = [await _wrong_login(http, "hal", "203.0.113.1") for _ in range(4)]
        assert first == [401, 401, 401, 429]
        second = [await _wrong_login(http, "hal", "203.0.113.2") for _ in range(3)]
        assert second == [401, 401, 429]
        assert await _wrong_login(http, "hal", "203.0.113.3") == 429
        # The right password is refused too while the username is blocked ...
        blocked = await http.post("/api/auth/login", json={"username": "hal",
                                                           "password": PASSWORD},
                                  headers={"X-Forwarded-For": "203.0.113.3"})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        # ... and another username from the same address is not affected.
        ok = await http.post("/api/auth/login", json={"username": "ida", "password": PASSWORD},
                             headers={"X-Forwarded-For": "203.0.113.2"})
        assert ok.status_code == 200


async def test_parallel_wrong_passwords_are_checked_at_most_the_limit(
    hub_factory: Callable[..., RunningHub]
) -> None:
    """Thirty wrong passwords at once: the attempt is reserved before the hash, so no more
    than the limit are verified (401) and every other one answers 429 at once."""
    hub = hub_factory(login_max_failures=5, login_user_max_failures=0)
    await register(hub, "jan")
    async with httpx.AsyncClient(base_url=hub.url, timeout=30) as http:
        statuses = await asyncio.gather(*(_wrong_login(http, "jan", None) for _ in range(30)))
    assert sorted(statuses) == [401] * 5 + [429] * 25


async def test_register_is_limited_per_address(hub_factory: Callable[..., RunningHub]) -> None:
    """Each registration costs a password hash: past the burst an address gets 429."""
    hub = hub_factory(register_rate=0.001, register_burst=3)
    async with httpx.AsyncClient(base_url=hub.url) as http:
        statuses = [(await http.post("/api/auth/register", json={
            "username": f"reg{n}", "password": PASSWORD})).status_code for n in range(5)]
    assert statuses == [201, 201, 201, 429, 429]


async def test_common_passwords_are_refused_with_the_reason(hub: RunningHub) -> None:
    """Passwords from the shipped list of the most common ones (in any letter case) answer 422
    with the reason, on register and on a guest's upgrade; others pass."""
    async with httpx.AsyncClient(base_url=hub.url) as http:
        for common in ("password1", "Password1", "1qaz2wsx", "Trustno1", "Samantha"):
            answer = await http.post("/api/auth/register",
                                     json={"username": "nat", "password": common})
            assert answer.status_code == 422, common
            detail = answer.json()["error"]["details"][0]
            assert detail["field"] == "password" and "common" in detail["reason"], detail
        guest = (await http.post("/api/auth/guest")).json()
        upgrade = await http.post("/api/auth/upgrade", headers=bearer(guest),
                                  json={"username": "nat", "password": "Password1"})
        assert upgrade.status_code == 422
        assert "common" in upgrade.json()["error"]["details"][0]["reason"]
        fine = await http.post("/api/auth/register",
                               json={"username": "nat", "password": "Nat-s-own-9"})
        assert fine.status_code == 201


async def test_deleting_an_account_removes_its_rows_and_closes_its_sockets(
    hub: RunningHub
) -> None:
    """DELETE /api/auth/me: a full account confirms with its password (422 without, 401 when
    wrong); then its sockets close with 4401, its tokens and password stop working, its todos
    are gone, and another user is untouched. A guest deletes itself without a password."""
    tokens = await register(hub, "olga")
    other = await register(hub, "pete")
    phone = await Device.connect(hub, tokens["access_token"], "phone")
    laptop = await Device.connect(hub, tokens["access_token"], "laptop")
    bystander = await Device.connect(hub, other["access_token"], "pete")
    await phone.create("olga's todo")
    await bystander.create("pete's todo")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        missing = await http.request("DELETE", "/api/auth/me", headers=bearer(tokens), json={})
        assert missing.status_code == 422
        wrong = await http.request("DELETE", "/api/auth/me", headers=bearer(tokens),
                                   json={"password": "Wrong-password-9"})
        assert wrong.status_code == 401
        deleted = await http.request("DELETE", "/api/auth/me", headers=bearer(tokens),
                                     json={"password": PASSWORD})
        assert deleted.status_code == 204
        for device in (phone, laptop):
            assert (await device.wait_closed(5))[0] == 4401
        assert (await http.get("/api/auth/me", headers=bearer(tokens))).status_code == 401
        assert (await _refresh(http, tokens["refresh_token"])).status_code == 401
        login = await http.post("/api/auth/login", json={"username": "olga",
                                                         "password": PASSWORD})
        assert login.status_code == 401
        again = await http.post("/api/auth/register", json={"username": "olga",
                                                            "password": PASSWORD})
        assert again.status_code == 201  # the name is free again, with nothing of the old
        fresh = (await http.post("/api/auth/login", json={"username": "olga",
                                                          "password": PASSWORD})).json()
        assert (await http.get("/api/todos", headers=bearer(fresh))).json()["items"] == []
        listing = await http.get("/api/todos", headers=bearer(other))
        assert [t["title"] for t in listing.json()["items"]] == ["pete's todo"]
        assert not bystander.closed.done()
        guest = (await http.post("/api/auth/guest")).json()
        gone = await http.request("DELETE", "/api/auth/me", headers=bearer(guest))
        assert gone.status_code == 204
        assert (await http.get("/api/auth/me", headers=bearer(guest))).status_code == 401
    for device in (phone, laptop, bystander):
        await device.close()
