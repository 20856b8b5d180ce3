"""The change stream through the repository's nginx.conf on the real nginx."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.client import TIMEOUT, register
from tests.conftest import skip_or_fail
from tests.deploy.nginx import find_nginx, render_nginx_conf, run_nginx
from tests.scale.cluster import REPO_ROOT, Address
from tests.scale.conftest import Cluster
from tests.scripts.helpers import make_token, pat
from tests.scripts.sse import open_stream
from tests.services import free_port


async def test_stream_events_and_heartbeats_pass_nginx_unbuffered(
    cluster_on: Callable[[str], Cluster], shared_redis: str, tmp_path: Path
) -> None:
    """A stream opened through nginx gets heartbeats and each change as it happens, whichever
    process the write went to (nginx holds nothing back)."""
    if find_nginx() is None:
        skip_or_fail("nginx is not installed (/usr/sbin/nginx missing; apt-get install nginx)")
    first, second = await cluster_on(shared_redis).start(2, "--sse-heartbeat", "0.3")
    front = Address(free_port())
    conf = render_nginx_conf([f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"],
                             front.port, str(REPO_ROOT / "static"), str(tmp_path / "nginx"))
    with run_nginx(conf, str(tmp_path / "nginx")):
        login = await register(front)
        token = (await make_token(front, login, scope="read"))["token"]
        async with open_stream(front.url, token, since=0) as stream:
            assert stream.response.headers["content-type"].startswith("text/event-stream")
            await stream.wait(comments=1)
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                for n, hub in enumerate((first, second, first)):
                    made = await http.post(f"{hub.url}/api/todos",
                                           headers=pat(login["access_token"]),
                                           json={"title": f"t{n}"})
                    assert made.status_code == 201
                    await stream.wait(n + 1)
            assert [e.id for e in stream.events] == [1, 2, 3]
