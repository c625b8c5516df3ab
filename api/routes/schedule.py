"""Schedules (단체장 일정) over the API, and each person's iCalendar feed for their phone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.calendar import as_icalendar
from api.deps import Anyone, Public, RowId, ServicesDep, SessionDep, Staff
from engine import commands, schedule
from engine.identity import Principal

router = APIRouter(prefix="/api", tags=["schedule"])
feeds = APIRouter(tags=["schedule"])


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str = Field(default="", max_length=300)


class EntryIn(BaseModel):
    owner: str | None = Field(default=None, max_length=100, description="whose schedule; default: mine")
    kind: str = Field(max_length=20, description="회의, 현장방문, 행사 or 면담")
    title: str = Field(max_length=300)
    starts_at: datetime = Field(description="with its offset, e.g. 2026-12-01T10:00:00+09:00")
    ends_at: datetime
    place: str = Field(default="", max_length=300)
    location: Location | None = None
    attendees: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=100,
                                                                   description="colleagues, by username")
    guests: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=schedule.MOST_GUESTS,
                                                                description="people from outside, by name")
    cases: list[Annotated[str, Field(max_length=36)]] = Field(default=[], max_length=schedule.MOST_CASES,
                                                              description="cases it concerns, by instance id")
    notes: str = Field(default="", max_length=schedule.NOTES_LIMIT)
    private: bool = False

    def draft(self, principal: Principal, owner: str | None = None) -> schedule.Draft:
        return schedule.Draft(
            owner=owner or self.owner or principal.username, kind=self.kind, title=self.title,
            starts_at=self.starts_at, ends_at=self.ends_at, place=self.place,
            location=self.location.model_dump() if self.location else None, attendees=tuple(self.attendees),
            guests=tuple(self.guests), cases=tuple(self.cases), notes=self.notes, private=self.private)


class EntryOut(BaseModel):
    """An entry as the caller may see it: a private one they may not read has ``shown`` false and only
    its owner and time."""

    id: int
    owner: str
    shown: bool
    starts_at: datetime
    ends_at: datetime
    kind: str | None = None
    title: str | None = None
    place: str | None = None
    location: dict[str, Any] | None = None
    attendees: list[str] | None = None
    guests: list[str] | None = None
    cases: list[str] | None = None
    notes: str | None = None
    private: bool


class FeedOut(BaseModel):
    url: str = Field(description="the feed's address, holding its secret token; shown only now")


def entry_out(entry: schedule.Entry) -> EntryOut:
    event = entry.event
    out = EntryOut(id=event.id, owner=event.owner, shown=entry.shown, starts_at=event.starts_at,
                   ends_at=event.ends_at, private=event.private)
    if entry.shown:
        out = out.model_copy(update={
            "kind": event.kind, "title": event.title, "place": event.place, "location": event.location,
            "attendees": list(event.attendees), "guests": list(event.guests), "cases": list(event.cases),
            "notes": event.notes})
    return out


@router.get("/schedule", response_model=list[EntryOut])
def read_schedule(
    principal: Anyone, session: SessionDep,
    starts: Annotated[datetime, Query(alias="from", description="with its offset")],
    ends: Annotated[datetime, Query(alias="to", description="at most two months after `from`")],
    owner: Annotated[str | None, Query(max_length=100, description="whose schedule; default: mine")] = None,
) -> list[EntryOut]:
    """A schedule's entries overlapping [from, to), in time order."""
    return [entry_out(e) for e in schedule.between(session, principal, owner or principal.username, starts, ends)]


@router.post("/schedule", status_code=201, response_model=EntryOut)
def add_entry(body: EntryIn, principal: Staff, session: SessionDep, services: ServicesDep) -> EntryOut:
    """Put an entry on a schedule you keep; 422 names each field that is wrong."""
    event = commands.add_schedule_entry(session, services.ctx, principal, body.draft(principal))
    return entry_out(schedule.entry_for(principal, event))


@router.get("/schedule/{entry_id}", response_model=EntryOut)
def get_entry(entry_id: RowId, principal: Anyone, session: SessionDep) -> EntryOut:
    return entry_out(schedule.entry_for(principal, schedule.get(session, entry_id)))


@router.put("/schedule/{entry_id}", response_model=EntryOut)
def change_entry(entry_id: RowId, body: EntryIn, principal: Staff, session: SessionDep,
                 services: ServicesDep) -> EntryOut:
    """Change an entry of a schedule you keep (it stays on the same schedule)."""
    current = schedule.get(session, entry_id)
    event = commands.change_schedule_entry(session, services.ctx, principal, entry_id,
                                           body.draft(principal, body.owner or current.owner))
    return entry_out(schedule.entry_for(principal, event))


@router.post("/schedule/{entry_id}/cancel", response_model=EntryOut)
def cancel_entry(entry_id: RowId, principal: Staff, session: SessionDep, services: ServicesDep) -> EntryOut:
    event = commands.cancel_schedule_entry(session, services.ctx, principal, entry_id)
    return entry_out(schedule.entry_for(principal, event))


@router.post("/schedule/feed", response_model=FeedOut)
def renew_feed(principal: Staff, session: SessionDep, services: ServicesDep) -> FeedOut:
    """A new address for your calendar feed; the one before stops working."""
    return FeedOut(url=f"/calendar/{commands.renew_calendar_feed(session, services.ctx, principal)}.ics")


@feeds.get("/calendar/{token}.ics", dependencies=[Public], response_class=Response)
def calendar_feed(token: Annotated[str, Path(max_length=200)], session: SessionDep, services: ServicesDep,
                  ) -> Response:
    """A person's schedule for their phone's calendar: the address's secret token is the credential."""
    now = services.ctx.clock()
    reader = schedule.feed_reader(session, token, now)
    body = as_icalendar(schedule.feed_entries(session, reader, now), reader, now)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300", "X-Robots-Tag": "noindex"})
