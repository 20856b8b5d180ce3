"""Health for orchestrators: /livez while the process answers, /readyz for its database and
broker, /health as documented."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.servers import RunningHub
from tests.services import RedisServer, wait_until


async def test_livez_readyz_and_health_follow_a_redis_outage(
    hub_factory: Callable[..., RunningHub], redis_server: RedisServer
) -> None:
    """With Redis down the hub stays live (/livez 200) but not ready (/readyz 503, broker
    down), and /health answers 503 as documented; all three are 200 again once Redis is back."""
    hub = hub_factory(redis_url=redis_server.url)
    async with httpx.AsyncClient(base_url=hub.url, timeout=10) as http:
        for path in ("/livez", "/readyz", "/health"):
            assert (await http.get(path)).status_code == 200, path
        ready = (await http.get("/readyz")).json()
        assert ready == {"status": "ok", "database": "ok", "broker": "ok"}
        redis_server.stop()

        async def unready() -> bool:
            return (await http.get("/readyz")).status_code == 503

        await wait_until(unready, 15, "/readyz to answer 503")
        body = (await http.get("/readyz")).json()
        assert body["database"] == "ok" and body["broker"].startswith("down")
        assert (await http.get("/livez")).status_code == 200
        assert (await http.get("/health")).status_code == 503
        redis_server.start()

        async def ready_again() -> bool:
            return (await http.get("/readyz")).status_code == 200

        await wait_until(ready_again, 30, "/readyz to answer 200 again")
        assert (await http.get("/health")).status_code == 200


async def test_an_empty_static_dir_serves_no_files(hub_factory: Callable[..., RunningHub],
                                                   tmp_path: Path) -> None:
    """TODOHUB_STATIC_DIR empty means the API only: / is a 404, never the working folder."""
    hub = hub_factory(static_dir="")
    async with httpx.AsyncClient(base_url=hub.url) as http:
        assert (await http.get("/")).status_code == 404
        assert (await http.get("/pyproject.toml")).status_code == 404
        assert (await http.get("/livez")).status_code == 200
