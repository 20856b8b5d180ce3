"""Personal access tokens for scripts: ``thp_`` and a random secret, shown once and stored
as its SHA-256 (the secret has 256 bits of entropy, so a fast hash is enough); scopes
``read`` and ``write``; an optional expiry; the time of last use, recorded at most once a
minute so that a busy script does not turn every read into a write."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from auth.errors import InvalidToken
from auth.tokens import AccessClaims
from storage import access_tokens as store
from storage.access_tokens import AccessTokenRecord
from storage.clock import format_time, parse_time

PREFIX = "thp_"
SCOPES = ("read", "write")
NAME_MAX = 100
LIFETIME_MAX = 10 * 366 * 86400
_REASONS = {"name": f"must be a string of 1-{NAME_MAX} characters",
            "scope": "must be 'read' or 'write'",
            "expires_in": "must be null or whole seconds, 1 to ten years"}
# What a token without expiry reports as its expiry (the last second of year 9999).
NEVER = 253402300799
TOUCH_EVERY = timedelta(minutes=1)


class BadTokenRequest(ValueError):
    """A token request whose field breaks a rule; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid {field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class PersonalClaims(AccessClaims):
    """The claims of a personal access token; ``session_id`` is the token's id, so that
    revoking the token reaches its sockets the way ending a session does."""

    scope: str = "read"

    @property
    def can_write(self) -> bool:
        """Whether the token may change data."""
        return self.scope == "write"


def is_personal(token: str) -> bool:
    """Whether ``token`` looks like a personal access token (rather than a JWT)."""
    return token.startswith(PREFIX)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _name(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not 1 <= len(value) <= NAME_MAX:
            raise ValueError(f"must be a string of 1-{NAME_MAX} characters")
    return value


class TokenRequest(BaseModel):
    """What a new token is to be: its name, scope and lifetime (null: it never expires)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[StrictStr, BeforeValidator(_name),
                    Field(min_length=1, max_length=NAME_MAX)]
    scope: Literal["read", "write"]
    expires_in: StrictInt | None = Field(default=None, ge=1, le=LIFETIME_MAX,
                                         description="seconds")


def check_request(name: object, scope: object, expires_in: object) -> tuple[str, str, int | None]:
    """The name, scope and lifetime of a token request; BadTokenRequest when one is wrong."""
    try:
        wanted = TokenRequest(name=name, scope=scope, expires_in=expires_in)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0])
        raise BadTokenRequest(field, _REASONS[field]) from None
    return wanted.name, wanted.scope, wanted.expires_in


async def create_token(
    conn: AsyncConnection, user_id: str, name: object, scope: object, expires_in: object,
    now: datetime | None = None,
) -> tuple[AccessTokenRecord, str]:
    """Make a token for the user: its record and its secret (shown once, never stored)."""
    name, scope, lifetime = check_request(name, scope, expires_in)
    moment = now or datetime.now(UTC)
    expires = format_time(moment + timedelta(seconds=lifetime)) if lifetime else None
    token = PREFIX + secrets.token_urlsafe(32)
    record = await store.add_access_token(conn, user_id, name, scope, _hash(token), expires)
    return record, token


async def verify(
    conn: AsyncConnection, token: str, now: datetime | None = None
) -> tuple[AccessTokenRecord, PersonalClaims]:
    """The record and claims of a known, unexpired token; InvalidToken otherwise."""
    record = await store.find_access_token(conn, _hash(token))
    if record is None:
        raise InvalidToken("unknown or revoked access token")
    moment = now or datetime.now(UTC)
    expires_at = NEVER
    if record.expires_at is not None:
        expiry = parse_time(record.expires_at)
        if expiry <= moment:
            raise InvalidToken("the access token has expired")
        expires_at = int(expiry.timestamp())
    return record, PersonalClaims(record.user_id, record.id, expires_at, record.scope)


def needs_touch(record: AccessTokenRecord, now: datetime | None = None) -> str | None:
    """The cut-off for recording a use now, or None when a use was recorded lately."""
    cutoff = format_time((now or datetime.now(UTC)) - TOUCH_EVERY)
    if record.last_used_at is not None and record.last_used_at >= cutoff:
        return None
    return cutoff


async def touch(conn: AsyncConnection, record: AccessTokenRecord, cutoff: str) -> None:
    """Record that the token was used now (once a minute at most)."""
    await store.touch_access_token(conn, record.id, cutoff)
