"""Fixtures for the deployment tests: the nginx binary, or a visible skip."""

from __future__ import annotations

import os

import pytest

from tests.deploy.nginx import find_nginx


def services_required() -> bool:
    """Return whether missing services must fail the run instead of skipping."""
    return os.environ.get("TODOHUB_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    """Return the nginx executable; skip (or fail with TODOHUB_REQUIRE_SERVICES=1) without it."""
    path = find_nginx()
    if path is None:
        reason = "nginx is not installed (/usr/sbin/nginx missing; apt-get install nginx)"
        if services_required():
            pytest.fail(f"required service missing (TODOHUB_REQUIRE_SERVICES=1): {reason}")
        pytest.skip(reason)
    return path
