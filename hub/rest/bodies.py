"""Request bodies of the REST routes that are not commands, as pydantic models: each one
validates its route's body and describes it in the API document.

Todo and list bodies are storage's own command models (``TodoIn``, ``TodoPatch``,
``ListIn``, ``ListPatch``, the batch operations), shared with the socket.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
)

from auth.errors import WeakPassword
from auth.passwords import MAX_LENGTH, MIN_LENGTH, check_strength
from storage.types import CreateOp, DeleteOp, UpdateOp

USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,64}")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def _username(value: str) -> str:
    if not USERNAME.fullmatch(value):
        raise ValueError("must be 3-64 letters, digits, dots, dashes or underscores")
    return value


def _email(value: str | None) -> str | None:
    if value is not None and (len(value) > 254 or not EMAIL.match(value)):
        raise ValueError("must be an email address")
    return value


def _present(value: str) -> str:
    if not value:
        raise ValueError("required string")
    return value


Username = Annotated[StrictStr, AfterValidator(_username),
                     Field(json_schema_extra={"pattern": f"^{USERNAME.pattern}$"})]
Email = Annotated[StrictStr | None, AfterValidator(_email),
                  Field(json_schema_extra={"maxLength": 254, "pattern": EMAIL.pattern})]
Secret = Annotated[StrictStr, AfterValidator(_present), Field(min_length=1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewAccount(_Body):
    """A new account's name and password (and an optional email): register, or upgrade a
    guest."""

    username: Username
    password: Annotated[StrictStr, Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH,
                                         description="at least two kinds of characters; "
                                         "not one of the commonly used passwords")]
    email: Email = None

    @field_validator("password", mode="before")
    @classmethod
    def _strong(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value:
                raise ValueError("required string")
            try:
                check_strength(value)
            except WeakPassword as exc:
                raise ValueError(str(exc)) from None
        return value


class Login(BaseModel):
    """A username (or the account's email) and its password. Other fields are ignored."""

    username: StrictStr
    password: Secret
    email: Email = None


class RefreshToken(BaseModel):
    """A refresh token."""

    refresh_token: Secret


class Password(BaseModel):
    """The account's password, to confirm deleting it."""

    password: Secret


class InviteToken(_Body):
    """An invitation's token, as in its link."""

    token: Annotated[StrictStr, Field(min_length=1, max_length=200)]


class RoleChange(_Body):
    """A member's new role; ``owner`` hands ownership over."""

    role: Literal["owner", "editor", "viewer"]


class NewInvite(_Body):
    """What an invitation offers and for how long."""

    role: Literal["editor", "viewer"] = "editor"
    expires_in: StrictInt | None = Field(default=None, ge=60, le=365 * 86400,
                                         description="seconds; default TODOHUB_INVITE_TTL")
    max_uses: StrictInt = Field(default=1, ge=1, le=1000)


BatchOp = Annotated[CreateOp | UpdateOp | DeleteOp, Field(discriminator="type")]


class Batch(_Body):
    """Operations applied atomically: all or none (at most ``TODOHUB_MAX_BATCH``)."""

    ops: list[BatchOp] = Field(min_length=1, max_length=100)
