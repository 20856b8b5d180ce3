"""Query parameters of the REST routes, as pydantic models: each validates its route's query
string and describes its parameters in the API document.

A query string carries text only, so each field turns text into its value with the rules
of the wire: whole numbers are ASCII digits only, flags are true/false (or 1/0, yes/no),
times are ISO 8601 with a zone within the years 0001-9999, and every text passes the text
rule of ``storage.types``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from hub.rest.common import whole_in
from storage.clock import parse_moment
from storage.todos import SORT_KEYS, TodoQuery
from storage.types import Priority, Status, TodoId, text_problem

_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
SORTS = [*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]


def whole(low: int, high: int) -> Any:
    """A whole number in ``low..high`` given as ASCII digits."""

    def check(value: Any) -> Any:
        number = whole_in(value, low, high) if isinstance(value, str) else None
        if number is None:
            raise ValueError(f"must be a whole number {low}-{high}")
        return number

    return Annotated[int, BeforeValidator(check), Field(ge=low, le=high)]


def _flag(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in _FLAGS:
        return _FLAGS[value.lower()]
    raise ValueError("must be true or false")


def _text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _moment(value: Any) -> Any:
    return parse_moment(value) if isinstance(value, str) else value


def _sort(value: str) -> str:
    if value not in SORTS:
        raise ValueError(f"must be one of {', '.join(SORT_KEYS)}, with - for descending")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str, AfterValidator(_text)]
Moment = Annotated[str, BeforeValidator(_moment),
                   Field(json_schema_extra={"format": "date-time"})]


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TodoFilters(_Query):
    """Filters, sort and page of the todo listing; an unknown parameter is a 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Status | None = None
    completed: Flag | None = None
    priority: Priority | None = None
    tag: Text | None = None
    q: Text | None = Field(default=None, description="in the title or description, any case")
    due_before: Moment | None = None
    due_after: Moment | None = None
    overdue: Flag | None = Field(default=None, description="due in the past, still open")
    list_id: TodoId | None = None
    assignee: Text | None = Field(default=None, description="me, none or a user id")
    sort: Annotated[str, AfterValidator(_sort),
                    Field(json_schema_extra={"enum": SORTS})] = "order"
    page: whole(1, 1_000_000) = 1  # type: ignore[valid-type]
    per_page: whole(1, 100) = 50  # type: ignore[valid-type]

    def todo_query(self) -> TodoQuery:
        """The filters as storage reads them."""
        return TodoQuery(**self.model_dump())


class ListScope(_Query):
    """One list of the user, or (without it) all of them; an unknown parameter is a 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    list_id: TodoId | None = None


class ChangesQuery(_Query):
    """Where to start, how many, and how long to wait for a first change."""

    since: whole(0, 2**62) = 0  # type: ignore[valid-type]
    limit: whole(1, 1000) = 500  # type: ignore[valid-type]
    wait: whole(0, 60) = Field(default=0, description="seconds; capped by "  # type: ignore[valid-type]
                               "TODOHUB_LONG_POLL_MAX")


# Seqs are 32-bit integers in the schema (PostgreSQL refuses a larger parameter).
SEQ_MAX = 2**31 - 1


class StreamQuery(_Query):
    """Where the stream starts (Last-Event-ID wins; without either, at the current seq)."""

    since: whole(0, SEQ_MAX) | None = None  # type: ignore[valid-type]


class LogoutQuery(_Query):
    """Whether to end every session of the user."""

    all: str | None = Field(default=None, description="true (or 1, yes): every session of "
                            "the user, and their sockets; anything else: this one")

    @property
    def everything(self) -> bool:
        """Whether every session ends."""
        return (self.all or "").lower() in ("1", "true", "yes")
