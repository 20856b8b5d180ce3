"""UTC time as the fixed-width text the schema and the wire use."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime) -> str:
    """``2026-11-23T08:00:00.123Z`` for an aware datetime (converted to UTC); the year always
    has four digits (``0099-06-01T00:00:00.000Z``), so the text sorts as the times do."""
    moment = moment.astimezone(UTC)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def parse_moment(text: str) -> str:
    """The stored text of a client's ISO 8601 time with a time zone; ValueError (with the
    reason) when it is not one, or when it falls outside the years 0001-9999 once in UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 time with a time zone") from None
    if moment.tzinfo is None:
        raise ValueError("must carry a time zone (for example Z or +01:00)")
    try:
        return format_time(moment)
    except OverflowError:
        raise ValueError("must fall within the years 0001-9999 once moved to UTC") from None


def utcnow() -> str:
    """The current time as stored text."""
    return format_time(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """An aware datetime from stored text."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
