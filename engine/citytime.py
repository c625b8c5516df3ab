"""The city's time: its zone, its working days, and the helpers scripts count with.

The engine keeps every moment in UTC — the clock, the database, the timers. People
count in days of the city's zone (``CITYFLOW_TIMEZONE``, Asia/Seoul by default), and
"within one working day" skips Saturdays, Sundays, Korea's public holidays — from
the ``holidays`` library, which knows 설날, 추석, 부처님오신날, election days and
substitute holidays (대체공휴일) — and the city's own days off
(``CITYFLOW_EXTRA_HOLIDAYS``: its 시민의 날, an 임시공휴일 the library does not know yet).

A value may be given as ISO text, as instance data holds it, or as a date or
datetime. Anything without an offset is a wall-clock time in the city, as forms
post it. Date-times come back aware, in city time, with the fixed offset of that
moment, so ``.isoformat()`` reads ``2027-09-17T10:00:00+09:00``.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Final

import holidays
from dateutil.relativedelta import relativedelta

if TYPE_CHECKING:  # a script process reads the city's time without the settings' machinery (pydantic)
    from engine.config import Settings

__all__ = ["CityTime", "public_holidays"]

HOLIDAY_COUNTRY: Final = "KR"
#: A deadline counted from a day off starts at this hour of the next working day.
WORKING_DAY_STARTS: Final = time(9, 0)
#: The furthest working days are counted, in days: a script cannot keep the engine counting for long.
MAX_SPAN_DAYS: Final = 366 * 30

Moment = datetime | date | str
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@functools.lru_cache(maxsize=128)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(HOLIDAY_COUNTRY, years=year))


def public_holidays(year: int) -> frozenset[date]:
    """Korea's public holidays of ``year``, substitute days (대체공휴일) included — computed once per
    year, untraced: a script asking ``is_working_day`` runs under the sandbox's tracer, which would
    make the holidays library's first computation of a year (0.1 s) take most of a script's second."""
    tracer = sys.gettrace()
    if tracer is None:
        return _holidays_of(year)
    sys.settrace(None)
    try:
        return _holidays_of(year)
    finally:
        sys.settrace(tracer)


def warm_holidays(around: int) -> None:
    """Compute the holidays of the years around ``around`` now, outside any script."""
    for year in range(around - 1, around + 3):
        _holidays_of(year)


def script_helpers_at(city: CityTime, moment: datetime) -> dict[str, Callable[..., Any]]:
    """What a script may call, with the engine's clock read once at ``moment``: how the helpers are
    built again in a script process (``engine.script_pool``), where the engine's clock is not."""
    return {"now": lambda: moment, **city.script_helpers(lambda: moment)}


def _fixed(moment: datetime) -> datetime:
    """``moment`` with a fixed-offset zone: what scripts see carries no zone database with it."""
    offset, name = moment.utcoffset(), moment.tzname()
    assert offset is not None
    return moment.astimezone(timezone(offset, name) if name else timezone(offset))


_SHIFT_UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds")


@dataclass(frozen=True)
class CityTime:
    """One city's zone and days off; every question about local dates and working days."""

    zone: tzinfo
    extra_holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> CityTime:
        """The city as ``CITYFLOW_TIMEZONE`` and ``CITYFLOW_EXTRA_HOLIDAYS`` describe it."""
        if settings is None:
            from engine.config import get_settings

            settings = get_settings()
        return cls(settings.zone, frozenset(settings.extra_holidays))

    # ---- moments and days
    def local(self, moment: Moment) -> datetime:
        """``moment`` in city time; a bare date is the start of that day in the city."""
        return _fixed(self._aware(moment).astimezone(self.zone))

    def utc(self, moment: Moment) -> datetime:
        """``moment`` in UTC, as the engine keeps it."""
        return self._aware(moment).astimezone(UTC)

    def day(self, value: Moment) -> date:
        """The city's date of ``value``: a date as it is, a moment's local date."""
        if not self.is_date(value):
            return self.local(value).date()
        return date.fromisoformat(value.strip()) if isinstance(value, str) else value

    def today(self, now: datetime) -> date:
        """The city's date at the moment ``now``."""
        return self.day(now)

    def at(self, day: Moment, hour: int = 9, minute: int = 0) -> datetime:
        """The wall-clock time ``hour:minute`` in the city on ``day``."""
        return self._on(self.day(day), time(hour, minute))

    def end_of_day(self, day: Moment) -> datetime:
        """23:59 in the city on ``day``: when something due "on" a date is due."""
        return self.at(day, 23, 59)

    # ---- working days
    def is_holiday(self, day: Moment) -> bool:
        """Whether ``day`` is a public holiday or one of the city's own days off."""
        local_day = self.day(day)
        return local_day in self.extra_holidays or local_day in public_holidays(local_day.year)

    def is_working_day(self, day: Moment) -> bool:
        """Monday to Friday, and no holiday."""
        local_day = self.day(day)
        return local_day.weekday() < 5 and not self.is_holiday(local_day)

    def add_working_days(self, start: Moment, days: int) -> datetime | date:
        """``days`` working days after ``start``, at the same time of day.

        A moment on a day off counts from 09:00 of the next working day, so a report
        received on Saturday and due in one working day is due on Tuesday at 09:00. A
        date (``2027-09-13`` or a ``date``) gives a date; ``days=0`` moves a day off
        to the next working day and leaves a working day as it is.
        """
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"add_working_days counts whole days, not {type(days).__name__}")
        if days < 0:
            raise ValueError("add_working_days counts forwards; give a number of days of 0 or more")
        if self.is_date(start):
            return self._working_days_after(self.day(start), days)
        moment = self.local(start)
        clock_time = moment.time() if self.is_working_day(moment) else WORKING_DAY_STARTS
        return self._on(self._working_days_after(moment.date(), days), clock_time)

    def working_days_between(self, start: Moment, end: Moment) -> int:
        """How many working days come after ``start``'s date, up to and including ``end``'s.

        The inverse of :meth:`add_working_days` from a working day; negative when
        ``end`` comes first, 0 when both fall on the same day.
        """
        first, last = self.day(start), self.day(end)
        sign = 1
        if last < first:
            first, last, sign = last, first, -1
        self._within_reach(first, (last - first).days)
        count = sum(1 for n in range(1, (last - first).days + 1) if self.is_working_day(first + timedelta(days=n)))
        return sign * count

    # ---- what scripts get
    def script_helpers(self, clock: Callable[[], datetime]) -> dict[str, Callable[..., Any]]:
        """The functions a script may call, reading the engine's ``clock``."""

        def local(moment: Moment | None = None) -> datetime:
            return self.local(clock() if moment is None else moment)

        def today() -> date:
            return self.today(clock())

        return {
            "today": today,
            "local": local,
            "shift_time": self.shifted,
            "local_at": self.at,
            "is_working_day": self.is_working_day,
            "add_working_days": self.add_working_days,
            "working_days_between": self.working_days_between,
        }

    def shifted(self, moment: Moment, unit: str, amount: int) -> datetime:
        """``moment`` moved by ``amount`` calendar ``unit`` (years, months, weeks, days, hours, minutes,
        seconds) in the city: what JUEL's ``plusDays(2)`` or ``minusMonths(1)`` means. A month on from
        31 January is the last day of February."""
        if unit not in _SHIFT_UNITS:
            raise ValueError(f"cannot move a date by {unit!r}; say one of {', '.join(_SHIFT_UNITS)}")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"move a date by a whole number, not {amount!r}")
        start = self.local(moment)
        try:
            moved = start + relativedelta(**{unit: amount})  # type: ignore[arg-type]
        except (OverflowError, ValueError):
            moved = None
        if moved is None or abs(moved - start) > timedelta(days=MAX_SPAN_DAYS):
            raise ValueError(f"moving a date by {amount} {unit} goes beyond {MAX_SPAN_DAYS // 366} years")
        return _fixed(moved)

    # ---- internals
    def _on(self, day: date, clock_time: time) -> datetime:
        return _fixed(datetime.combine(day, clock_time, tzinfo=self.zone))

    def _aware(self, moment: Moment) -> datetime:
        if isinstance(moment, str):
            try:
                parsed = datetime.fromisoformat(moment.strip())
            except ValueError:
                raise ValueError(f"{moment!r} is not an ISO date or date-time") from None
        elif isinstance(moment, datetime):
            parsed = moment
        elif isinstance(moment, date):
            parsed = datetime.combine(moment, time(0, 0))
        else:
            raise TypeError(f"expected a date-time (ISO text or datetime), not {type(moment).__name__}")
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=self.zone)

    @staticmethod
    def is_date(value: Moment) -> bool:
        """Whether ``value`` is a bare date (``2027-09-13`` or a ``date``), not a moment."""
        if isinstance(value, str):
            return bool(_DATE_ONLY.fullmatch(value.strip()))
        return isinstance(value, date) and not isinstance(value, datetime)

    def _working_days_after(self, day: date, days: int) -> date:
        self._within_reach(day, days)
        limit = day + timedelta(days=MAX_SPAN_DAYS)
        while not self.is_working_day(day):
            day = self._step(day, limit)
        for _ in range(days):
            day = self._step(day, limit)
            while not self.is_working_day(day):
                day = self._step(day, limit)
        return day

    @staticmethod
    def _step(day: date, limit: date) -> date:
        if day >= limit:
            raise ValueError(f"working days are counted over at most {MAX_SPAN_DAYS} days")
        return day + timedelta(days=1)

    @staticmethod
    def _within_reach(day: date, days: int) -> None:
        if days > MAX_SPAN_DAYS:
            raise ValueError(f"working days are counted over at most {MAX_SPAN_DAYS} days, not {days}")
