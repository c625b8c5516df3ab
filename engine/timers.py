"""Timers that read the engine's clock, written as modelers write them.

SpiffWorkflow's timer events ask ``datetime.now()`` and evaluate their text as an
expression; cityflow's ask the script engine's clock (so tests move time) and take
an ISO 8601 literal as it is written — ``P7D``, ``R4/P3M``, ``2026-12-31T09:00+09:00``
— while anything else is an expression over the instance data (``deadline``), whose
value may be an ISO string or a datetime. A date-time without an offset is the city's
wall-clock time, and a bare date is that day in the city (``engine.citytime``).

A cycle may also be a cron expression, as Camunda 7 takes it: Quartz's six or seven fields
(``0 0/5 * * * ?``: seconds first, ``?`` for "any", days of the week 1-7 from Sunday, a year
field of ``*``) or the classic five (``0 9 * * MON-FRI``), read in the city's time zone; it
repeats without end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from croniter import croniter  # type: ignore[import-untyped]
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.task import Task

from engine.citytime import CityTime

ClockFunction = Callable[[], datetime]


def now_of(task: Task) -> datetime:
    clock: ClockFunction | None = getattr(task.workflow.script_engine, "clock", None)
    return clock() if clock is not None else datetime.now(UTC)


def city_of(task: Task) -> CityTime:
    """The city whose zone reads the task's dates: the script engine's, else the settings'."""
    city: CityTime | None = getattr(task.workflow.script_engine, "city_time", None)
    return city if city is not None else CityTime.from_settings()


def iso_literal(text: str, kind: str) -> str | None:
    """``text`` itself when it is an ISO 8601 value of the timer's kind (quotes allowed)."""
    literal = text.strip().strip("'\"")
    try:
        if kind == "cycle":
            TimerEventDefinition.parse_iso_recurring_interval(literal)
        elif kind == "duration":
            TimerEventDefinition.parse_iso_duration(literal)
        else:
            TimerEventDefinition.get_datetime(literal)
    except Exception:
        return None
    return literal


_QUARTZ_DAY = re.compile(r"(?<![/#\d])([1-7])(?!\d)")


def cron_expression(text: str) -> str | None:
    """``text`` as a cron expression with seconds first, when it is one (Quartz or classic); else None."""
    fields = text.strip().strip("'\"").split()
    if len(fields) == 5:
        fields = ["0", *fields]
    elif len(fields) == 7:
        if fields[6] not in ("*", "?"):
            return None  # a year field that says something: outside what cityflow reads
        fields = fields[:6]
    elif len(fields) != 6:
        return None
    else:  # Quartz numbers the days of the week 1-7 from Sunday; cron 0-6
        fields[5] = _QUARTZ_DAY.sub(lambda m: str(int(m.group(1)) - 1), fields[5])
    expression = " ".join("*" if field == "?" else field for field in fields)
    try:
        valid = croniter.is_valid(expression, second_at_beginning=True)
    except Exception:  # a malformed field raises rather than answering no
        valid = False
    return expression if valid else None


def cron_next(expression: str, after: datetime, city: CityTime) -> datetime:
    """The first moment after ``after`` the cron ``expression`` names, read on the city's clock, in UTC."""
    moment: datetime = croniter(expression, after.astimezone(city.zone), second_at_beginning=True).get_next(datetime)
    return moment.astimezone(UTC)


def _value(definition: TimerEventDefinition, task: Task, kind: str) -> Any:
    if kind == "cycle" and (cron := cron_expression(definition.expression or "")) is not None:
        return {"cron": cron}
    literal = iso_literal(definition.expression or "", kind)
    if literal is not None:
        return literal
    value = task.workflow.script_engine.evaluate(task, definition.expression)
    if isinstance(value, date):  # a datetime too; a bare date is the start of that day in the city
        return city_of(task).local(value).isoformat()
    if isinstance(value, timedelta):
        return f"PT{int(value.total_seconds())}S"
    return value


def _as_utc(text: str, task: Task) -> datetime:
    return city_of(task).utc(text)


class ClockedTimeDate(TimeDateEventDefinition):  # type: ignore[misc]
    """Fires at a moment: a literal date-time, or one computed from data (a deadline)."""

    def has_fired(self, my_task: Task) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            value = str(_value(self, my_task, "date"))
            my_task._set_internal_data(event_value=value)
        if _as_utc(value, my_task) <= now_of(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedDuration(DurationTimerEventDefinition):  # type: ignore[misc]
    """Fires a while after the event is reached: ``P7D``, ``PT2H``."""

    def has_fired(self, my_task: Task) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            start = now_of(my_task)
            parsed = TimerEventDefinition.parse_iso_duration(str(_value(self, my_task, "duration")))
            value = (start + TimerEventDefinition.get_timedelta_from_start(parsed, start)).isoformat()
            my_task._set_internal_data(event_value=value)
        if _as_utc(value, my_task) <= now_of(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedCycle(CycleTimerEventDefinition):  # type: ignore[misc]
    """Fires repeatedly: ``R4/P3M`` four times, every three months from now; ``0 0 9 ? * MON-FRI``
    at nine on every weekday, without end."""

    def cycle_complete(self, my_task: Task) -> bool:
        value = my_task._get_internal_data("event_value")
        now = now_of(my_task)
        if value is None:
            found = _value(self, my_task, "cycle")
            if isinstance(found, dict) and "cron" in found:
                first = cron_next(found["cron"], now, city_of(my_task))
                value = {"cycles": -1, "next": first.isoformat(), "cron": found["cron"]}
            else:
                cycles, start, duration = _recurring(str(found), now)
                value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if value["cycles"] != 0:
            upcoming = datetime.fromisoformat(value["next"])
            if upcoming <= now:
                later = (cron_next(value["cron"], upcoming, city_of(my_task)) if value.get("cron")
                         else upcoming + timedelta(seconds=value["duration"]))
                value["next"] = later.isoformat()
                value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        my_task._set_internal_data(event_value=value)
        return ready


def _recurring(text: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """Like SpiffWorkflow's parser of ``R<n>/…``, but measured from the engine's clock."""
    cycles_part, _, rest = text.partition("/")
    cycles = int(cycles_part[1:]) if cycles_part[1:] else -1
    first, _, second = rest.partition("/")
    if second:
        return TimerEventDefinition.parse_iso_recurring_interval(text)  # type: ignore[no-any-return]
    parsed = TimerEventDefinition.parse_iso_duration(first)
    duration = TimerEventDefinition.get_timedelta_from_start(parsed, now)
    return cycles, now + duration, duration


CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


def clocked(definition: TimerEventDefinition) -> TimerEventDefinition:
    """The clock-reading version of a parsed timer definition."""
    cls = CLOCKED.get(type(definition))
    if cls is None:
        return definition
    return cls(definition.name, definition.expression, description=definition.description)


def due_at(task: Task) -> datetime | None:
    """When a waiting timer task is due, from what its definition computed."""
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(value, dict):
        return datetime.fromisoformat(value["next"]) if value.get("cycles") else None
    return _as_utc(str(value), task)


def due_from(text: str, task: Task, now: datetime) -> datetime | None:
    """A user task's due date from ``camunda:dueDate``: a date-time, a duration from now
    (``P3D``), or an expression over the data (``${deadline}``) giving either. A bare date
    is due at the end of that day in the city."""
    text = text.strip()
    if not text:
        return None
    if text.startswith(("${", "#{")) and text.endswith("}"):
        value: Any = task.workflow.script_engine.evaluate(task, text)
    elif iso_literal(text, "duration") is not None or iso_literal(text, "date") is not None:
        value = text.strip("'\"")
    else:
        value = task.workflow.script_engine.evaluate(task, text)
    if value is None or value == "":
        return None
    city = city_of(task)
    if isinstance(value, datetime):
        return city.utc(value)
    if isinstance(value, date) or (isinstance(value, str) and city.is_date(value)):
        return city.utc(city.end_of_day(value))
    if isinstance(value, timedelta):
        return now + value
    text_value = str(value)
    if iso_literal(text_value, "duration") is not None:
        parsed = TimerEventDefinition.parse_iso_duration(text_value)
        later: datetime = now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
        return later
    return _as_utc(text_value, task)
