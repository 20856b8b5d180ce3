"""docker-compose.yml: valid against the Compose schema, and the promised shape."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft201909Validator

from tests.deploy.nginx import NGINX_CONF, REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "compose-spec.json"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """docker-compose.yml parsed (YAML anchors and merge keys resolved)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services of docker-compose.yml by name."""
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def _env(service: dict[str, Any]) -> dict[str, str]:
    """Return a service's environment as a dict, from either compose form."""
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _healthcheck_words(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_compose_file_matches_the_compose_schema(compose: dict[str, Any]) -> None:
    """docker-compose.yml validates against the vendored compose-spec JSON schema."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    errors = sorted(
        Draft201909Validator(schema).iter_errors(compose), key=lambda e: list(e.absolute_path)
    )
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def test_schema_catches_a_broken_file(compose: dict[str, Any]) -> None:
    """The schema check is real: an unknown key and a bad condition are reported."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    broken = copy.deepcopy(compose)
    broken["services"]["hub1"]["depends_on"]["migrate"]["condition"] = "service_done"
    broken["services"]["redis"]["helthcheck"] = {}
    paths = {
        "/".join(map(str, e.absolute_path))
        for e in Draft201909Validator(schema).iter_errors(broken)
    }
    assert "services/redis" in paths
    assert "services/hub1/depends_on" in paths


def test_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    """The file has no `version:` key (obsolete in the Compose specification)."""
    assert "version" not in compose


def test_two_hubs_built_from_the_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    """hub1 and hub2 are built from the Dockerfile, share one secret and use Postgres and Redis."""
    for name in ("hub1", "hub2"):
        hub = services[name]
        assert hub["build"] in (".", {"context": ".", "dockerfile": "Dockerfile"})
        env = _env(hub)
        assert env["TODOHUB_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in env["TODOHUB_DATABASE_URL"]
        assert env["TODOHUB_REDIS_URL"].startswith("redis://redis:6379")
        # Refuse to start without a secret rather than run with a known default.
        assert re.fullmatch(r"\$\{TODOHUB_SECRET:\?[^}]+\}", env["TODOHUB_SECRET"])
        assert "ports" not in hub, "hubs are reached through nginx only"
    assert _env(services["hub1"]) == _env(services["hub2"])


def test_hubs_wait_for_migrate_and_healthy_backends(services: dict[str, dict[str, Any]]) -> None:
    """Hubs start after postgres and redis are healthy and migrate completed successfully."""
    for name in ("hub1", "hub2"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_migrate_is_a_one_shot(services: dict[str, dict[str, Any]]) -> None:
    """migrate runs `todohub migrate` once, on the same image and database as the hubs."""
    migrate = services["migrate"]
    assert migrate["command"] == ["todohub", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["image"] == services["hub1"]["image"]
    env = _env(migrate)
    assert env["TODOHUB_DATABASE_URL"] == _env(services["hub1"])["TODOHUB_DATABASE_URL"]


def test_postgres_has_a_volume_and_a_healthcheck(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """postgres:16-alpine keeps its data in a named volume and reports health with pg_isready."""
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16-alpine"
    assert "pg_isready" in _healthcheck_words(postgres)
    volumes = [v.split(":")[0] for v in postgres["volumes"]]
    assert volumes and all(v in compose["volumes"] for v in volumes)
    assert any(v.endswith("/var/lib/postgresql/data") for v in postgres["volumes"])


def test_redis_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    """redis:7-alpine reports health with redis-cli ping."""
    redis = services["redis"]
    assert redis["image"] == "redis:7-alpine"
    assert "redis-cli ping" in _healthcheck_words(redis)


def test_nginx_publishes_a_port_in_front_of_healthy_hubs(
    services: dict[str, dict[str, Any]],
) -> None:
    """nginx publishes 8080, mounts nginx.conf and ./static read-only, and waits for both hubs."""
    nginx = services["nginx"]
    assert nginx["image"] == "nginx:1.27-alpine"
    assert any(str(p).endswith(":8080") for p in nginx["ports"])
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert "./static:/usr/share/nginx/html:ro" in nginx["volumes"]
    for hub in ("hub1", "hub2"):
        assert nginx["depends_on"][hub]["condition"] == "service_healthy"
    published = [name for name, svc in services.items() if "ports" in svc]
    assert published == ["nginx"]


def test_nginx_conf_agrees_with_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    """nginx.conf names the compose hubs, listens on nginx's container port and serves its mount."""
    conf = NGINX_CONF.read_text(encoding="utf-8")
    upstreams = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", conf, re.MULTILINE)
    assert upstreams == [("hub1", "8000"), ("hub2", "8000")]
    assert all(name in services for name, _ in upstreams)
    container_port = str(services["nginx"]["ports"][0]).rsplit(":", 1)[1]
    assert re.search(rf"^\s*listen\s+{container_port};", conf, re.MULTILINE)
    mount = next(v for v in services["nginx"]["volumes"] if v.startswith("./static:"))
    assert re.search(rf"^\s*root\s+{re.escape(mount.split(':')[1])};", conf, re.MULTILINE)


def test_hubs_report_liveness_not_readiness(services: dict[str, dict[str, Any]]) -> None:
    """The hubs' health check asks /livez, so a Redis outage does not mark live hubs dead."""
    for hub in ("hub1", "hub2"):
        assert "/livez" in _healthcheck_words(services[hub])
