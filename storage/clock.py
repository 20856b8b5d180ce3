"""UTC time as the fixed-width text the schema and the wire use."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime) -> str:
    """``2026-11-23T08:00:00.123Z`` for an aware datetime (converted to UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utcnow() -> str:
    """The current time as stored text."""
    return format_time(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """An aware datetime from stored text."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
