"""Dates and times between the browser and the data.

A ``datetime-local`` input shows and posts a wall-clock time without a zone
(``2024-05-01T14:30``); the data holds RFC 3339 with an offset
(``2024-05-01T14:30:00+09:00``). A time posted without a zone is wall-clock time in
the zone the application gives — the city's (``CITYFLOW_TIMEZONE``) — and shown in it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<time>[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)"
    r"(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def is_date(text: object) -> bool:
    """A full date, ``YYYY-MM-DD``, that exists in the calendar (a non-string is not ours to judge)."""
    if not isinstance(text, str):
        return True
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_datetime(text: object) -> bool:
    """An RFC 3339 date-time with seconds and an offset (a non-string is not ours to judge)."""
    if not isinstance(text, str):
        return True
    return bool(_RFC3339.fullmatch(text)) and _parse(text.upper()) is not None


def to_rfc3339(text: str, zone: tzinfo) -> str | None:
    """A posted date and time as RFC 3339; without a zone it is wall-clock time in ``zone``. None if it
    is no date-time."""
    found = _DATETIME.fullmatch(text.strip())
    if not found:
        return None
    moment = _parse(f"{found['date']}T{found['time']}{(found['zone'] or '').upper()}")
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def to_local_input(value: object, zone: tzinfo) -> str | None:
    """An RFC 3339 value as a ``datetime-local`` input shows it, in ``zone``; None if it is no date-time."""
    if not isinstance(value, str):
        return None
    found = _DATETIME.fullmatch(value.strip())
    moment = _parse(value.strip().upper().replace(" ", "T")) if found else None
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.replace(tzinfo=None).isoformat(timespec="seconds" if moment.second else "minutes")


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
