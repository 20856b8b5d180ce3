"""Settings: every limit, timeout and address of the hub, with its default, in one place.

Each field is read from the environment variable ``TODOHUB_<FIELD>`` and can be given on the
command line as ``--<field-with-dashes>``. A zero for a limit or timeout means "off" where the
field's help says so.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """The hub's configuration; build it with :meth:`from_env`."""

    host: str = _opt("127.0.0.1", "address to listen on")
    port: int = _opt(8000, "port to listen on")
    workers: int = _opt(1, "hub processes to run (more than one needs the Redis broker)")
    data_dir: str = _opt("data", "folder for the SQLite file and the generated secret")
    database_url: str = _opt("", "SQLAlchemy URL; empty: SQLite file todohub.db in data_dir")
    redis_url: str = _opt("", "Redis URL for the broker and presence; empty: in-process broker")
    redis_prefix: str = _opt("todohub:", "prefix of every Redis channel and key")
    secret: str = _opt("", "HS256 signing secret; empty: generated once, kept in data_dir")
    allowed_origins: str = _opt("", "comma-separated Origins allowed on /ws besides the hub's own")
    static_dir: str = _opt(str(DEFAULT_STATIC_DIR), "folder served at /")
    log_level: str = _opt("info", "log level")
    db_pool_size: int = _opt(10, "database pool size (PostgreSQL)")
    db_max_overflow: int = _opt(10, "extra connections beyond the pool (PostgreSQL)")

    access_ttl: int = _opt(900, "access token lifetime in seconds")
    refresh_ttl: int = _opt(30 * 86400, "refresh token lifetime in seconds")
    argon2_time_cost: int = _opt(2, "argon2 iterations")
    argon2_memory_cost: int = _opt(19456, "argon2 memory in KiB")
    argon2_parallelism: int = _opt(1, "argon2 lanes")
    login_max_failures: int = _opt(5, "failed logins per username and address before 429")
    login_failure_window: int = _opt(300, "seconds over which failed logins are counted")
    guest_enabled: bool = _opt(True, "allow POST /api/auth/guest")
    guest_rate: float = _opt(0.2, "guest accounts per second per client address")
    guest_burst: int = _opt(10, "guest accounts at once per client address")

    max_frame: int = _opt(65536, "largest accepted WebSocket frame in bytes (1009 above)")
    ws_deflate: bool = _opt(False, "accept permessage-deflate (about 42 KiB more per socket)")
    ping_interval: float = _opt(20.0, "seconds between WebSocket pings from the hub")
    ping_timeout: float = _opt(20.0, "seconds to wait for a pong before closing")
    hello_timeout: float = _opt(10.0, "seconds a socket has to send hello (4408 after)")
    token_warning: float = _opt(60.0, "seconds before expiry that token_expiring is sent")
    send_queue: int = _opt(1024, "frames queued per socket before it is closed with 1013")
    command_rate: float = _opt(50.0, "commands per second per socket (token bucket refill)")
    command_burst: int = _opt(100, "commands a socket may send at once")
    rate_limit_strikes: int = _opt(100, "rejected commands in a row before closing with 4429")
    max_batch: int = _opt(100, "operations in one batch")
    group_commit_max: int = _opt(256, "commands written together in one transaction at most")
    snapshot_page: int = _opt(500, "todos per snapshot frame")
    replay_page: int = _opt(1000, "changes read from the log at once")
    retention_days: int = _opt(30, "days the change log keeps changes")
    retention_changes: int = _opt(10000, "changes per user the change log keeps at least")
    prune_interval: float = _opt(3600.0, "seconds between change-log pruning runs (0: never)")
    presence_ttl: float = _opt(30.0, "seconds a presence entry lives without a refresh")
    long_poll_max: float = _opt(60.0, "longest wait of GET /api/changes in seconds")
    sse_heartbeat: float = _opt(15.0, "seconds between heartbeat comments on "
                                "/api/changes/stream (0: none)")
    shutdown_grace: float = _opt(5.0, "seconds to drain in-flight commands at shutdown")

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Build settings from ``TODOHUB_*`` variables, then apply explicit overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"TODOHUB_{f.name.upper()}")
            if raw is not None:
                values[f.name] = parse_value(f.type, raw)
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        path = Path(self.data_dir).resolve() / "todohub.db"
        return f"sqlite+aiosqlite:///{path}"

    @property
    def origins(self) -> frozenset[str]:
        """The configured extra allowed origins."""
        parts = self.allowed_origins.split(",")
        return frozenset(o.strip().rstrip("/") for o in parts if o.strip())


def parse_value(type_name: Any, raw: str) -> Any:
    """Convert a textual setting to the field's type (types are strings under __future__)."""
    name = type_name if isinstance(type_name, str) else type_name.__name__
    if name == "bool":
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected a boolean (1/0, true/false), got {raw!r}")
    if name == "int":
        return int(raw)
    if name == "float":
        return float(raw)
    return raw


def setting_fields() -> list[dataclasses.Field[Any]]:
    """All settings fields, for the command line and the README's table."""
    return list(fields(Settings))
