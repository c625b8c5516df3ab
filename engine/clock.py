"""The engine's sense of time, passed in so tests move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time, in UTC."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


class MovableClock(Clock):
    """A clock that stands still until moved: ``clock.advance(days=7)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment
