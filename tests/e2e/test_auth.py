"""Accounts and tokens over REST: register, login, refresh rotation, logout, guests."""

from __future__ import annotations

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


async def test_refresh_rotates_and_reuse_revokes_the_session(hub: RunningHub) -> None:
    """Each refresh gives a new pair; presenting a spent refresh token revokes its session."""
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
