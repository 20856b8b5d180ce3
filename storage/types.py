"""Value types and field rules of a todo, a list and of the commands that change them.

Everything here is pure: it validates Python values (from JSON) and knows no database.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from storage.clock import parse_moment
from storage.errors import CommandRejected

Status = Literal["pending", "in_progress", "completed", "cancelled"]
Priority = Literal["low", "medium", "high", "urgent"]
PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "urgent": 3}
MAX_TAGS = 10
# The largest whole number a client may send where one is stored or compared in SQL
# (versions, seqs): both databases hold signed 64-bit integers.
MAX_INT = 2**63 - 1
OP_ID_RULE = "must be a string of 1-64 characters"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or sent as text, or None when it can.

    Text must be Unicode scalar values, so that it encodes as UTF-8 (a lone surrogate such as
    the JSON escape ``\\ud800`` does not), and must not hold U+0000 (PostgreSQL cannot store
    it). Every string a client sends passes this one rule before it goes anywhere.
    """
    if "\x00" in value:
        return "must not contain U+0000"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (no lone surrogates)"
    return None


def shown(text: str) -> str:
    """``text`` as it may appear in an answer: what breaks the text rule is escaped the way
    JSON writes it (``\\ud800``, ``\\u0000``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def find_bad_text(value: Any, prefix: str = "") -> dict[str, str] | None:
    """The first string in a decoded JSON value (object keys included) that breaks the text
    rule, as a wire ``details`` entry with its dotted path; None when all text is valid."""
    stack: list[tuple[str, Any]] = [(prefix.rstrip("."), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return {"field": path or "body", "reason": problem}
        elif isinstance(item, dict):
            children: list[tuple[str, Any]] = []
            for key, child in item.items():
                where = f"{path}.{shown(key)}" if path else shown(key)
                problem = text_problem(key)
                if problem is not None:
                    return {"field": where, "reason": f"a field name that {problem}"}
                children.append((where, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path}.{i}" if path else str(i), child)
                                   for i, child in enumerate(item)]))
    return None


def _text(value: Any) -> Any:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
    return value


def check_op_id(value: Any) -> str | None:
    """The reason an operation id (a command's ``id``, an ``Idempotency-Key``) is refused, or
    None when it is a valid one."""
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        return OP_ID_RULE
    return text_problem(value)


def _title(value: Any) -> Any:
    if isinstance(value, str):
        value = _text(value).strip()
        if not 1 <= len(value) <= 200:
            raise ValueError("must be 1-200 characters after trimming")
    return value


def _description(value: Any) -> Any:
    if isinstance(value, str) and len(_text(value)) > 5000:
        raise ValueError("must be at most 5000 characters")
    return value


def _due_at(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time with a time zone, or null")
    return parse_moment(_text(value))


def _tags(value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError("must be a list of strings")
    seen: list[str] = []
    for tag in value:
        if not isinstance(tag, str):
            raise ValueError("each tag must be a string")
        tag = _text(tag).strip().lower()
        if not 1 <= len(tag) <= 50:
            raise ValueError("each tag must be 1-50 characters after trimming")
        if tag not in seen:
            seen.append(tag)
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return seen


def _order(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    try:
        number = float(value)  # an integer beyond a float raises OverflowError
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError("must be a finite number (within a 64-bit float)")
    return number


def _todo_id(value: Any) -> Any:
    if not isinstance(value, str) or not value.isascii():
        raise ValueError("must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


def _list_name(value: Any) -> Any:
    if isinstance(value, str):
        value = _text(value).strip()
        if not 1 <= len(value) <= 100:
            raise ValueError("must be 1-100 characters after trimming")
    return value


def _user_id(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 36:
        raise ValueError("must be a user id or null")
    return _text(value)


# The Field()s say in the API document what the validators check; where a rule applies
# after trimming or dropping duplicates, the document says so in words rather than as a
# bound the raw value would have to keep.
Title = Annotated[StrictStr, BeforeValidator(_title),
                  Field(min_length=1, description="1-200 characters after trimming")]
ListName = Annotated[StrictStr, BeforeValidator(_list_name),
                     Field(min_length=1, description="1-100 characters after trimming")]
UserId = Annotated[str | None, BeforeValidator(_user_id),
                   Field(description="a user id (1-36 characters) or null")]
Description = Annotated[StrictStr | None, BeforeValidator(_description),
                        Field(description="at most 5000 characters, or null")]
DueAt = Annotated[str | None, BeforeValidator(_due_at),
                  Field(json_schema_extra={"format": "date-time"},
                        description="ISO 8601 with a time zone, or null; sent back in UTC")]
Tags = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_tags),
                 Field(description=f"at most {MAX_TAGS} once trimmed, lower-cased and "
                       "without duplicates, each 1-50 characters")]
Order = Annotated[float, BeforeValidator(_order), Field(description="a finite number")]
TodoId = Annotated[str, BeforeValidator(_todo_id), Field(json_schema_extra={"format": "uuid"})]
Version = Annotated[StrictInt, Field(ge=0, le=MAX_INT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TodoIn(_Strict):
    """The fields of a new todo."""

    id: TodoId | None = None
    list_id: TodoId | None = None
    assignee: UserId = None
    title: Title
    description: Description = None
    status: Status = "pending"
    completed: StrictBool | None = None
    priority: Priority = "medium"
    due_at: DueAt = None
    tags: Tags = Field(default_factory=list)
    order: Order | None = None

    @model_validator(mode="after")
    def _status_agrees(self) -> TodoIn:
        _check_status(self.status if "status" in self.model_fields_set else None, self.completed)
        return self


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _absent() -> Any:
    """The default of a patch field that may be absent but not null: None stands for
    absent, and the document shows neither null nor a default."""
    return Field(default=None, json_schema_extra=_drop_default)


class TodoPatch(_Strict):
    """Fields to merge into a todo; absent fields stay as they are."""

    title: Title | SkipJsonSchema[None] = _absent()
    description: Description = None
    status: Status | SkipJsonSchema[None] = _absent()
    completed: StrictBool | SkipJsonSchema[None] = _absent()
    priority: Priority | SkipJsonSchema[None] = _absent()
    due_at: DueAt = None
    tags: Tags | SkipJsonSchema[None] = _absent()
    order: Order | SkipJsonSchema[None] = _absent()
    list_id: TodoId | SkipJsonSchema[None] = _absent()
    assignee: UserId = None

    @field_validator("title", "status", "priority", "tags", "order", "completed", "list_id")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value

    @model_validator(mode="after")
    def _status_agrees(self) -> TodoPatch:
        _check_status(self.status, self.completed)
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the patch sets."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def _check_status(status: str | None, completed: bool | None) -> None:
    if status is None or completed is None:
        return
    if completed != (status == "completed"):
        raise ValueError("status and completed disagree")


class CreateOp(_Strict):
    type: Literal["create"]
    todo: TodoIn


class UpdateOp(_Strict):
    type: Literal["update"]
    todo_id: TodoId
    patch: TodoPatch
    if_version: Version | None = None


class DeleteOp(_Strict):
    type: Literal["delete"]
    todo_id: TodoId
    if_version: Version | None = None


class ListIn(_Strict):
    """The fields of a new list."""

    id: TodoId | None = None
    name: ListName


class ListPatch(_Strict):
    """Fields to merge into a list."""

    name: ListName


class ListCreateOp(_Strict):
    type: Literal["list_create"]
    list: ListIn


class ListUpdateOp(_Strict):
    type: Literal["list_update"]
    list_id: TodoId
    patch: ListPatch
    if_version: Version | None = None


class ListDeleteOp(_Strict):
    type: Literal["list_delete"]
    list_id: TodoId
    if_version: Version | None = None


Role = Literal["owner", "editor", "viewer"]


@dataclass(frozen=True)
class JoinOp:
    """Accept the invitation whose token hashes to ``token_hash`` (REST only)."""

    token_hash: str
    type: Literal["join"] = "join"


@dataclass(frozen=True)
class RoleOp:
    """Give a member another role; ``owner`` hands ownership over (REST only)."""

    list_id: str
    user_id: str
    role: str
    type: Literal["role"] = "role"


@dataclass(frozen=True)
class RemoveOp:
    """Remove a member from a list, or leave it when the member is oneself (REST only)."""

    list_id: str
    user_id: str
    type: Literal["remove"] = "remove"


TodoOp = CreateOp | UpdateOp | DeleteOp
ListOp = ListCreateOp | ListUpdateOp | ListDeleteOp
MemberOp = JoinOp | RoleOp | RemoveOp
Op = TodoOp | ListOp | MemberOp
OP_MODELS: dict[str, type[TodoOp] | type[ListOp]] = {
    "create": CreateOp,
    "update": UpdateOp,
    "delete": DeleteOp,
    "list_create": ListCreateOp,
    "list_update": ListUpdateOp,
    "list_delete": ListDeleteOp,
}
BATCH_OPS = ("create", "update", "delete")


@dataclass(frozen=True)
class Limits:
    """The limits of lists (configuration, handed to the writer)."""

    max_members: int = 50
    max_lists: int = 100


@dataclass(frozen=True)
class Command:
    """One client command: an operation id and one operation, or an atomic batch of them.
    ``fingerprint`` identifies the request that carried it (REST): the same operation id
    with another fingerprint is refused instead of answered as a retry."""

    op_id: str | None
    ops: list[Op]
    batch: bool = False
    fingerprint: str | None = None

    @property
    def kind(self) -> str:
        """The operation's type (create, update, list_create, join, ...) or batch."""
        return "batch" if self.batch else self.ops[0].type


class Change(NamedTuple):
    """One entry a command wrote into a change log: whose log (the recipient, whose room it
    is published to), its seq in that log, and the change frame as sent."""

    user_id: str
    seq: int
    frame: str


@dataclass
class Applied:
    """What applying a command produced: the answer (the ack without its type and id) and the
    changes it wrote, in order, each with its recipient (every member of the list)."""

    answer: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    duplicate: bool = False


def validation_details(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as the wire's ``details``: field and reason."""
    details = []
    for item in error.errors():
        loc = ".".join(shown(str(part)) for part in item["loc"]
                       if not str(part).startswith("function-"))
        reason = shown(item["msg"].removeprefix("Value error, "))
        if item["type"] == "extra_forbidden":
            reason = "unknown field"
        elif item["type"] == "missing":
            reason = "required"
        details.append({"field": f"{prefix}{loc}".rstrip("."), "reason": reason})
    return details


def parse_op(data: Any, prefix: str = "", allowed: tuple[str, ...] = tuple(OP_MODELS)) -> Op:
    """Validate one operation (a dict with ``type`` among ``allowed``), raising
    CommandRejected(validation)."""
    if not isinstance(data, dict):
        raise CommandRejected(
            "validation", "an operation must be an object",
            [{"field": prefix.rstrip(".") or "op", "reason": "must be an object"}],
        )
    kind = data.get("type")
    model = OP_MODELS.get(kind) if isinstance(kind, str) and kind in allowed else None
    if model is None:
        raise CommandRejected(
            "validation", f"unknown operation type {echo(kind)}",
            [{"field": f"{prefix}type", "reason": f"must be {', '.join(allowed)}"}],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = validation_details(exc, prefix)
        raise CommandRejected("validation", _summary(details), details) from None


def parse_batch(ops: Any, max_ops: int) -> list[Op]:
    """Validate the operations of a batch (1 to ``max_ops``)."""
    if not isinstance(ops, list) or not ops:
        raise CommandRejected(
            "validation", "ops must be a non-empty list",
            [{"field": "ops", "reason": "must be a non-empty list"}],
        )
    if len(ops) > max_ops:
        raise CommandRejected(
            "validation", f"a batch holds at most {max_ops} operations, got {len(ops)}",
            [{"field": "ops", "reason": f"at most {max_ops} operations"}],
        )
    return [parse_op(op, f"ops.{i}.", BATCH_OPS) for i, op in enumerate(ops)]


def echo(value: Any, limit: int = 40) -> str:
    """A short, sendable rendering of a client's value for an error message."""
    text = shown(repr(value)) if not isinstance(value, dict | list) else type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _summary(details: list[dict[str, str]]) -> str:
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"invalid {first['field']}: {first['reason']}{more}"
