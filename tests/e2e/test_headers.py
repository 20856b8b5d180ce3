"""Security headers: the Content-Security-Policy names the hub's own host, never the client's
text beyond a plain host and port."""

from __future__ import annotations

import httpx

from tests.servers import RunningHub


async def test_host_header_cannot_add_policy_directives(hub: RunningHub) -> None:
    """A Host header carrying '; script-src *' leaves the policy as the hub writes it."""
    async with httpx.AsyncClient(base_url=hub.url) as http:
        plain = await http.get("/livez", headers={"Host": "hub.example:8443"})
        assert "ws://hub.example:8443 wss://hub.example:8443" in (
            plain.headers["content-security-policy"])
        for host in ("evil.example; script-src *", "a b", "x\tscript-src"):
            answer = await http.get("/livez", headers={"Host": host})
            csp = answer.headers["content-security-policy"]
            assert csp.count("script-src") == 1 and "*" not in csp, host
            assert "ws://localhost wss://localhost" in csp
