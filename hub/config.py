"""Settings: every limit, timeout and address of the hub, with its default, in one place.

Each field is read from the environment variable ``TODOHUB_<FIELD>`` and can be given on the
command line as ``--<field-with-dashes>``. A zero for a limit or timeout means "off" where the
field's help says so. Every value is validated when the settings are built: a bad one raises
:class:`SettingError`, whose one-line message names the variable, the value and what is
allowed (``TODOHUB_PORT='abc': expected an integer``).

The model is a frozen pydantic model; each field is declared on one line with :func:`_opt`,
whose keyword arguments are pydantic's constraints (``ge``, ``le``, ``gt``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

# hub/_static is a link to the checkout's static/ (editable installs follow it) and a copy of
# it in a wheel (package data), so the default works in both.
DEFAULT_STATIC_DIR = Path(__file__).resolve().parent / "_static"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
DATABASE_SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgresql+asyncpg")
REDIS_SCHEMES = ("memory", "redis", "rediss", "unix")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _opt(default: Any, help: str, **constraints: Any) -> Any:
    return Field(default=default, description=help, **constraints)


class SettingError(ValueError):
    """A setting with a value that is not allowed; the message is one line."""

    def __init__(self, name: str, value: Any, reason: str, source: str | None = None) -> None:
        self.name, self.value, self.reason = name, value, reason
        self.source = source or f"TODOHUB_{name.upper()}"
        joint = " " if self.source.startswith("--") else "="
        super().__init__(f"{self.source}{joint}{value!r}: {reason}")

    def named(self, source: str) -> SettingError:
        """The same error, naming where the value came from (``--port``)."""
        return SettingError(self.name, self.value, self.reason, source)


class Settings(BaseModel):
    """The hub's configuration; build it with :meth:`from_env`."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False,
                              validate_default=True)

    host: str = _opt("127.0.0.1", "address to listen on", min_length=1)
    port: int = _opt(8000, "port to listen on", ge=1, le=65535)
    workers: int = _opt(1, "hub processes to run (more than one needs the Redis broker)", ge=1)
    data_dir: str = _opt("data", "folder for the SQLite file and the generated secret", min_length=1)
    database_url: str = _opt("", "SQLAlchemy URL; empty: SQLite file todohub.db in data_dir")
    redis_url: str = _opt("", "Redis URL for the broker and presence; empty: in-process broker")
    redis_prefix: str = _opt("todohub:", "prefix of every Redis channel and key")
    secret: str = _opt("", "HS256 signing secret; empty: generated once, kept in data_dir")
    secret_file: str = _opt("", "file holding the signing secret (keeps it out of the process list)")
    allowed_origins: str = _opt("", "comma-separated Origins allowed on /ws besides the hub's own")
    public_url: str = _opt("", "the hub's address as users reach it, for invitation links (empty: the address of the request)")
    static_dir: str = _opt(str(DEFAULT_STATIC_DIR), "folder served at / (empty: no client, the API only)")
    log_level: str = _opt("info", "log level")
    db_pool_size: int = _opt(10, "database pool size (PostgreSQL)", ge=1)
    db_max_overflow: int = _opt(10, "extra connections beyond the pool (PostgreSQL)", ge=0)
    sqlite_on_loop: bool = _opt(True, "run SQLite's statements on the event loop, not in a thread (a locked database is still waited for in one)")
    sqlite_wal_limit_mb: float = _opt(64, "megabytes SQLite's write-ahead log may grow to under steady writes before a checkpoint rewinds it", gt=0)
    trusted_proxies: str = _opt("127.0.0.1", "comma-separated proxy addresses or networks whose X-Forwarded-For is believed (* for any)")
    limit_concurrency: int = _opt(10000, "HTTP connections, sockets included, before new ones get 503 (0: no limit)", ge=0)
    keep_alive_timeout: int = _opt(5, "seconds an idle HTTP keep-alive connection stays open", ge=1)
    header_timeout: float = _opt(10.0, "seconds a client has to send a request's headers (closed after; 0: no limit)", ge=0)
    body_timeout: float = _opt(30.0, "seconds a client has to send a request's body after its headers (0: no limit)", ge=0)
    max_header_bytes: int = _opt(32768, "largest request line and headers in bytes (431 above)", ge=1024)

    access_ttl: int = _opt(900, "access token lifetime in seconds", ge=1)
    refresh_ttl: int = _opt(30 * 86400, "refresh token lifetime in seconds", ge=1)
    refresh_grace: float = _opt(10.0, "seconds a just-spent refresh token answers the same new pair again (0: never)", ge=0)
    argon2_time_cost: int = _opt(2, "argon2 iterations", ge=1)
    argon2_memory_cost: int = _opt(19456, "argon2 memory in KiB", ge=8)
    argon2_parallelism: int = _opt(1, "argon2 lanes", ge=1)
    hash_threads: int = _opt(2, "threads that hash passwords (each holds argon2's memory)", ge=1)
    malloc_arenas: int = _opt(2, "glibc malloc arenas, so freed memory goes back to the system (0: glibc's default)", ge=0)
    gc_threshold: int = _opt(20000, "allocations between collections of the youngest objects (0: Python's default, 700)", ge=0)
    login_max_failures: int = _opt(5, "failed logins per username and address before 429 (0: no limit)", ge=0)
    login_user_max_failures: int = _opt(20, "failed logins per username from all addresses before 429 (0: no limit)", ge=0)
    login_failure_window: int = _opt(300, "seconds over which failed logins are counted", ge=1)
    register_rate: float = _opt(0.1, "registrations per second per client address (0: no limit)", ge=0)
    register_burst: int = _opt(10, "registrations at once per client address", ge=1)
    guest_enabled: bool = _opt(True, "allow POST /api/auth/guest")
    guest_rate: float = _opt(0.2, "guest accounts per second per client address (0: no limit)", ge=0)
    guest_burst: int = _opt(10, "guest accounts at once per client address", ge=1)

    max_frame: int = _opt(65536, "largest accepted WebSocket frame in bytes (1009 above)", ge=1024)
    ws_deflate: bool = _opt(False, "accept permessage-deflate (about 42 KiB more per socket)")
    ping_interval: float = _opt(20.0, "seconds between WebSocket pings from the hub", ge=0)
    ping_timeout: float = _opt(20.0, "seconds to wait for a pong before closing", ge=0)
    hello_timeout: float = _opt(10.0, "seconds a socket has to send hello (4408 after)", gt=0)
    token_warning: float = _opt(60.0, "seconds before expiry that token_expiring is sent", ge=0)
    send_queue: int = _opt(1024, "frames queued per socket before it is closed with 1013", ge=1)
    command_rate: float = _opt(50.0, "commands per second per socket (token bucket refill)", ge=0)
    command_burst: int = _opt(100, "commands a socket may send at once", ge=1)
    rate_limit_strikes: int = _opt(100, "rejected commands in a row before closing with 4429", ge=0)
    max_batch: int = _opt(100, "operations in one batch", ge=1)
    max_list_members: int = _opt(50, "members of one list at most", ge=1)
    max_lists: int = _opt(100, "lists one user may own, the inbox not counted", ge=0)
    invite_ttl: int = _opt(7 * 86400, "seconds an invitation lasts unless it says otherwise", ge=60)
    group_commit_max: int = _opt(256, "commands written together in one transaction at most", ge=1)
    snapshot_page: int = _opt(500, "todos per snapshot frame", ge=1)
    replay_page: int = _opt(1000, "changes read from the log at once", ge=1)
    retention_days: int = _opt(30, "days the change log keeps changes", ge=0)
    retention_changes: int = _opt(10000, "changes per user the change log keeps at least", ge=0)
    prune_interval: float = _opt(3600.0, "seconds between change-log pruning runs (0: never)", ge=0)
    presence_ttl: float = _opt(30.0, "seconds a presence entry lives without a refresh", gt=0)
    long_poll_max: float = _opt(60.0, "longest wait of GET /api/changes in seconds", ge=0)
    sse_heartbeat: float = _opt(15.0, "seconds between heartbeat comments on "
                                "/api/changes/stream (0: none)", ge=0)
    shutdown_grace: float = _opt(5.0, "seconds to drain in-flight commands at shutdown", ge=0)

    _file_secret: str = PrivateAttr(default="")

    @field_validator("*", mode="before")
    @classmethod
    def _text_booleans(cls, value: Any, info: Any) -> Any:
        # An empty boolean variable means false, as it always has.
        field = cls.model_fields.get(info.field_name)
        if field is not None and field.annotation in (bool, "bool") and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError("expected a boolean (1/0, true/false, yes/no, on/off)")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.lower() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return value.lower()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in DATABASE_SCHEMES:
            raise ValueError(f"expected a URL of {', '.join(s + '://' for s in DATABASE_SCHEMES)}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in REDIS_SCHEMES:
            raise ValueError(f"expected empty or a URL of {', '.join(s + '://' for s in REDIS_SCHEMES)}")
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _allowed_origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"expected origins like https://todo.example, got {origin!r}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: str) -> str:
        for item in (p.strip() for p in value.split(",") if p.strip()):
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"expected addresses or networks (10.0.0.0/8) or *, "
                                 f"got {item!r}") from None
        return value

    @field_validator("static_dir")
    @classmethod
    def _static_dir(cls, value: str) -> str:
        if value and not Path(value).is_dir():
            raise ValueError("expected a folder that exists")
        return value

    @model_validator(mode="after")
    def _read_secret_file(self) -> Settings:
        if self.secret_file:
            if self.secret:
                raise ValueError("secret_file: give either a secret or a secret file, not both")
            try:
                text = Path(self.secret_file).read_text().strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"secret_file: cannot read it ({exc.__class__.__name__})") from None
            if not text:
                raise ValueError("secret_file: the file is empty")
            self._file_secret = text
        return self

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Build settings from ``TODOHUB_*`` variables, then apply explicit overrides.

        Raises SettingError (one line, naming the variable) for a value that is not allowed.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(f"TODOHUB_{name.upper()}")
            if raw is not None:
                values[name] = raw
        values.update(overrides)
        return cls._validated(values)

    @classmethod
    def _validated(cls, values: dict[str, Any]) -> Settings:
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = [str(part) for part in error["loc"]]
            message = error["msg"].removeprefix("Value error, ")
            if not loc and ":" in message:
                # A model-level check names its field first ("secret_file: ...").
                name, _, message = message.partition(": ")
                loc = [name]
            name = loc[0] if loc else "settings"
            raise SettingError(name, values.get(name, error.get("input")), message) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated again)."""
        return self._validated({**self.model_dump(), **changes})

    @property
    def signing_secret(self) -> str:
        """The configured secret, from ``secret`` or ``secret_file``; empty when neither."""
        return self.secret or self._file_secret

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


@dataclass(frozen=True)
class SettingField:
    """One setting as the command line and the README's table see it."""

    name: str
    type: str
    default: Any
    help: str

    @property
    def metadata(self) -> dict[str, str]:
        """``{"help": ...}``, as the fields of the earlier dataclass had."""
        return {"help": self.help}


def setting_fields() -> list[SettingField]:
    """All settings fields, for the command line and the README's table."""
    return [
        SettingField(name, getattr(info.annotation, "__name__", str(info.annotation)),
                     info.default, info.description or "")
        for name, info in Settings.model_fields.items()
    ]
