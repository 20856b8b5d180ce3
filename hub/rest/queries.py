"""Query parameters of the REST routes, as pydantic models: each validates its route's query
string and describes its parameters in the API document.

A query string carries text only, so each field turns text into its value with the rules
of the wire: whole numbers are ASCII digits only, flags are true/false (or 1/0, yes/no),
times are ISO 8601 with a zone within the years 0001-9999, and every text passes the text
rule of ``storage.types``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from hub.rest.common import whole_in
from storage.clock import parse_moment
from storage.todos import SORT_KEYS, TodoQuery
from storage.types import Priority, Status, TodoId, text_problem

_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
SORTS = [*SORT_KEYS, *(f"-{key}" for key in SORT_KEYS)]


@dataclass(frozen=True)
class Whole:
    """Field metadata: a whole number in ``low..high`` given as ASCII digits (the document
    shows an integer with those bounds)."""

    low: int
    high: int

    def check(self, value: Any) -> int:
        """The number ``value`` spells; ValueError with the rule otherwise."""
        number = whole_in(value, self.low, self.high) if isinstance(value, str) else None
        if number is None:
            raise ValueError(f"must be a whole number {self.low}-{self.high}")
        return number

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "minimum": self.low, "maximum": self.high}


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
    # A parameter the route does not know is a 422 on every route: a misspelt filter
    # would otherwise answer as if it had not been given.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TodoFilters(_Query):
    """Filters, sort and page of the todo listing."""

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
    page: Annotated[int, Whole(1, 1_000_000)] = 1
    per_page: Annotated[int, Whole(1, 100)] = 50

    def todo_query(self) -> TodoQuery:
        """The filters as storage reads them."""
        return TodoQuery(**self.model_dump())


class ListScope(_Query):
    """One list of the user, or (without it) all of them."""

    list_id: TodoId | None = None


class ChangesQuery(_Query):
    """Where to start, how many, and how long to wait for a first change."""

    since: Annotated[int, Whole(0, 2**62)] = 0
    limit: Annotated[int, Whole(1, 1000)] = 500
    wait: Annotated[int, Whole(0, 60)] = Field(default=0, description="seconds; capped by "
                                               "TODOHUB_LONG_POLL_MAX")


# Seqs are 32-bit integers in the schema (PostgreSQL refuses a larger parameter).
SEQ_MAX = 2**31 - 1


class StreamQuery(_Query):
    """Where the stream starts (Last-Event-ID wins; without either, at the current seq)."""

    since: Annotated[int, Whole(0, SEQ_MAX)] | None = None


class LogoutQuery(_Query):
    """Whether to end every session of the user."""

    all: str | None = Field(default=None, description="true (or 1, yes): every session of "
                            "the user, and their sockets; anything else: this one")

    @property
    def everything(self) -> bool:
        """Whether every session ends."""
        return (self.all or "").lower() in ("1", "true", "yes")
