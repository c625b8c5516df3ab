"""Schedules (단체장 일정): a person's meetings, field visits, events and interviews — read by day or
week, kept by the person and those in the group ``schedule:<owner>`` (수행비서), given to a phone's
calendar as an iCalendar feed whose address holds a secret token.

A public entry is read by everyone who works here; a private one by those who keep the schedule and
the colleagues it names — everyone else sees only that the time is taken (``Entry.shown`` is
``False``). Every change is a record on the system's audit chain. The rules are ``engine.access``'s;
changes go through ``engine.commands``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, audit, identity
from engine.errors import FormInvalid, NotFound
from engine.identity import Principal
from engine.models import CalendarFeed, Instance, ScheduleEvent, User

KINDS = ("회의", "현장방문", "행사", "면담")
LONGEST = timedelta(days=14)  # an entry longer than this is a mistake, not a schedule
MOST_GUESTS = 50
MOST_CASES = 20
NOTES_LIMIT = 5000
WIDEST_READ = timedelta(days=62)  # a feed or a view reads at most two months at once


@dataclass(frozen=True)
class Draft:
    """An entry as someone fills it in: every field as given, checked by :func:`check`."""

    owner: str
    kind: str
    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    place: str = ""
    location: dict[str, Any] | None = None
    attendees: tuple[str, ...] = ()
    guests: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    notes: str = ""
    private: bool = False


@dataclass(frozen=True)
class Entry:
    """An entry as one reader may see it: ``shown`` is False for a private entry they may not read,
    whose title and details are then withheld."""

    event: ScheduleEvent
    shown: bool


def check(session: Session, draft: Draft) -> list[dict[str, str]]:
    """Every field of ``draft`` that is wrong, named (empty when it is fine)."""
    errors: list[dict[str, str]] = []

    def wrong(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not _active(session, draft.owner):
        wrong("owner", "there is no such person")
    if draft.kind not in KINDS:
        wrong("kind", "choose 회의 (meeting), 현장방문 (field visit), 행사 (event) or 면담 (interview)")
    if not draft.title.strip():
        wrong("title", "give the entry a title")
    elif len(draft.title) > 300:
        wrong("title", "a title is limited to 300 characters")
    moments_wrong = False
    for field, moment in (("starts_at", draft.starts_at), ("ends_at", draft.ends_at)):
        if moment is None:
            wrong(field, "give a date and time")
        elif moment.tzinfo is None or moment.utcoffset() is None:
            wrong(field, "give the time with its offset, e.g. +09:00")
        else:
            continue
        moments_wrong = True
    if not moments_wrong and draft.starts_at is not None and draft.ends_at is not None:
        if draft.ends_at <= draft.starts_at:
            wrong("ends_at", "an entry must end after it starts")
        elif draft.ends_at - draft.starts_at > LONGEST:
            wrong("ends_at", "an entry lasts at most 14 days")
    if len(draft.place) > 300:
        wrong("place", "a place is limited to 300 characters")
    unknown = [name for name in draft.attendees if not _active(session, name)]
    if unknown:
        wrong("attendees", "attendees must be people working here")
    if len(draft.guests) > MOST_GUESTS or any(len(guest) > 100 or not guest.strip() for guest in draft.guests):
        wrong("guests", f"at most {MOST_GUESTS} guests, each named in at most 100 characters")
    if len(draft.cases) > MOST_CASES:
        wrong("cases", f"at most {MOST_CASES} cases")
    elif draft.cases:
        found = set(session.execute(select(Instance.id).where(Instance.id.in_(draft.cases))).scalars())
        if set(draft.cases) - found:
            wrong("cases", "there is no such case")
    if len(draft.notes) > NOTES_LIMIT:
        wrong("notes", f"notes are limited to {NOTES_LIMIT:,} characters")
    if draft.location is not None and not _location(draft.location):
        wrong("location", "a place on the map has a latitude and longitude")
    return errors


def _location(value: dict[str, Any]) -> bool:
    lat, lon = value.get("lat"), value.get("lon")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon))
    return numbers and -90 <= float(lat) <= 90 and -180 <= float(lon) <= 180  # type: ignore[arg-type]


def _active(session: Session, username: str) -> bool:
    user = session.get(User, username)
    return user is not None and user.active


def add(session: Session, draft: Draft, actor: str, now: datetime) -> ScheduleEvent:
    """Put a checked entry on its owner's schedule (recorded)."""
    errors = check(session, draft)
    if errors:
        raise FormInvalid(errors)
    event = ScheduleEvent(owner=draft.owner, created_by=actor, created_at=now, updated_at=now,
                          **_fields(draft))
    session.add(event)
    session.flush()
    _record(session, "schedule.added", actor, event, now)
    return event


def change(session: Session, event: ScheduleEvent, draft: Draft, actor: str, now: datetime) -> ScheduleEvent:
    """Change an entry (not its owner), recording what it was."""
    errors = check(session, draft)
    if errors:
        raise FormInvalid(errors)
    was = _as_detail(event)
    for name, value in _fields(draft).items():
        setattr(event, name, value)
    event.updated_at = now
    session.flush()
    _record(session, "schedule.changed", actor, event, now, was=was)
    return event


def cancel(session: Session, event: ScheduleEvent, actor: str, now: datetime) -> ScheduleEvent:
    """Call an entry off: it stays, marked cancelled, and leaves the views and the feed."""
    if event.cancelled_at is None:
        event.cancelled_at = now
        _record(session, "schedule.cancelled", actor, event, now)
    return event


def _fields(draft: Draft) -> dict[str, Any]:
    return {"kind": draft.kind, "title": draft.title.strip(), "starts_at": draft.starts_at,
            "ends_at": draft.ends_at, "place": draft.place.strip(), "location": draft.location,
            "attendees": list(dict.fromkeys(draft.attendees)),
            "guests": [guest.strip() for guest in draft.guests], "cases": list(dict.fromkeys(draft.cases)),
            "notes": draft.notes.strip(), "private": draft.private}


def _as_detail(event: ScheduleEvent) -> dict[str, Any]:
    return {"id": event.id, "owner": event.owner, "kind": event.kind, "title": event.title,
            "starts_at": audit.timestamp(event.starts_at), "ends_at": audit.timestamp(event.ends_at),
            "place": event.place, "attendees": list(event.attendees), "guests": list(event.guests),
            "cases": list(event.cases), "private": event.private}


def _record(session: Session, action: str, actor: str, event: ScheduleEvent, now: datetime, **more: Any) -> None:
    audit.append_to_system(session, audit.Entry(action=action, actor=actor, detail=_as_detail(event) | more, at=now))


def get(session: Session, event_id: int) -> ScheduleEvent:
    event = session.get(ScheduleEvent, event_id)
    if event is None:
        raise NotFound(f"no schedule entry {event_id}")
    return event


def entry_for(principal: Principal, event: ScheduleEvent) -> Entry:
    return Entry(event, access.reads_schedule_entry(principal, event.owner, event.private, event.attendees))


def between(session: Session, principal: Principal, owner: str, starts: datetime, ends: datetime) -> list[Entry]:
    """The entries of ``owner``'s schedule that overlap [starts, ends), in time order, as ``principal``
    may see them; cancelled ones left out."""
    if ends <= starts or ends - starts > WIDEST_READ:
        raise FormInvalid([{"field": "to", "message": "read at most two months of a schedule at once"}])
    query = (select(ScheduleEvent)
             .where(ScheduleEvent.owner == owner, ScheduleEvent.starts_at < ends,
                    ScheduleEvent.ends_at > starts - LONGEST, ScheduleEvent.cancelled_at.is_(None))
             .order_by(ScheduleEvent.starts_at, ScheduleEvent.id))
    return [entry_for(principal, event) for event in session.execute(query).scalars() if event.ends_at > starts]


def kept_schedules(session: Session) -> list[User]:
    """The people whose schedules others keep (the mayor's, by the 수행비서): the schedules everyone
    may want to read, in rank order."""
    names = {group.removeprefix("schedule:") for groups in session.execute(select(User.groups)).scalars()
             for group in groups or () if group.startswith("schedule:")}
    found = session.execute(select(User).where(User.username.in_(names), User.active.is_(True))).scalars()
    return sorted(found, key=lambda user: (-user.rank, user.username))


def owners(session: Session, principal: Principal) -> list[User]:
    """Whose schedules ``principal`` keeps: their own first, then those of the ``schedule:<owner>``
    groups they are in (a 수행비서: the mayor's)."""
    kept = [name.removeprefix("schedule:") for name in sorted(principal.groups) if name.startswith("schedule:")]
    names = list(dict.fromkeys([principal.username, *kept]))
    people = {u.username: u for u in session.execute(select(User).where(User.username.in_(names))).scalars()}
    return [people[name] for name in names if name in people]


# -- the iCalendar feed ------------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def renew_feed(session: Session, username: str, now: datetime) -> str:
    """A new secret token for ``username``'s feed (the old address stops working); returned once."""
    token = secrets.token_urlsafe(32)
    feed = session.get(CalendarFeed, username)
    if feed is None:
        session.add(CalendarFeed(username=username, token_sha256=_digest(token), created_at=now))
    else:
        feed.token_sha256, feed.created_at = _digest(token), now
    audit.append_to_system(session, audit.Entry(action="schedule.feed_renewed", actor=username, at=now))
    session.flush()
    return token


def feed_reader(session: Session, token: str, now: datetime) -> Principal:
    """Whoever a feed token belongs to, as a reader of schedules; unknown tokens are not found."""
    if not token or len(token) > 200:
        raise NotFound("no such calendar")
    feed = session.execute(select(CalendarFeed).where(CalendarFeed.token_sha256 == _digest(token))).scalar_one_or_none()
    if feed is None:
        raise NotFound("no such calendar")
    user = session.get(User, feed.username)
    if user is None or not user.active:
        raise NotFound("no such calendar")
    return identity.principal(session, user, now)


FEED_PAST, FEED_AHEAD = timedelta(days=31), timedelta(days=183)


def feed_entries(session: Session, reader: Principal, now: datetime) -> list[Entry]:
    """What a person's feed holds: the entries of their own schedule and those naming them as an
    attendee, from a month ago to half a year ahead, cancelled ones left out."""
    query = (select(ScheduleEvent)
             .where(ScheduleEvent.starts_at < now + FEED_AHEAD, ScheduleEvent.ends_at > now - FEED_PAST,
                    ScheduleEvent.cancelled_at.is_(None))
             .order_by(ScheduleEvent.starts_at, ScheduleEvent.id))
    return [entry_for(reader, event) for event in session.execute(query).scalars()
            if event.owner == reader.username or reader.username in event.attendees]
