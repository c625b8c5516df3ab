"""단체장 일정 on the web: a day or a week of someone's schedule (the mayor's, by default, for those who
do not keep another), an entry's page, adding and changing entries for those who keep the schedule,
and the address of one's own calendar feed for a phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import RowId, ServicesDep, SessionDep
from api.web.absences import person
from api.web.common import Posted, Viewer, WebUser, check_csrf, render, see_other
from api.web.i18n import translations
from engine import access, commands, identity, remarks, schedule, worklist
from engine.errors import FormInvalid
from engine.models import Instance, ScheduleEvent, User

router = APIRouter(include_in_schema=False)

# The kinds as the city names them (the values) and their English words (the catalogues' msgids).
KIND_WORDS = {"회의": "Meeting", "현장방문": "Field visit", "행사": "Event", "면담": "Interview"}
FIELDS = ("kind", "title", "starts_at", "ends_at", "place", "guests", "notes")
_WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


@dataclass(frozen=True)
class Shown:
    """An entry as the page lists it."""

    id: int
    shown: bool
    kind: str
    title: str
    hours: str
    place: str
    people: list[str]
    private: bool
    starts_at: datetime


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    today: bool
    entries: list[Shown]


def _day_label(day: date, locale: str) -> str:
    weekday = _WEEKDAYS["ko" if locale == "ko" else "en"][day.weekday()]
    return f"{day.month}월 {day.day}일 ({weekday})" if locale == "ko" else f"{weekday} {day.day}/{day.month}"


def _hours(event: ScheduleEvent, zone: tzinfo, day: date) -> str:
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    first = f"{starts:%H:%M}" if starts.date() == day else "…"
    last = f"{ends:%H:%M}" if ends.date() == day else "…"
    return f"{first}–{last}"


def _named(session: Session, usernames: list[str]) -> dict[str, User]:
    return worklist.users_named(session, sorted(set(usernames)))


def _shown(entries: list[schedule.Entry], viewer: WebUser, day: date, names: dict[str, User]) -> list[Shown]:
    gettext = translations(viewer.locale).gettext
    shown = []
    for entry in entries:
        event = entry.event
        if not entry.shown:
            shown.append(Shown(event.id, False, "", gettext("Busy"), _hours(event, viewer.zone, day), "", [], True,
                               event.starts_at))
            continue
        people = [person(names.get(name), gettext("someone no longer listed")) for name in event.attendees]
        shown.append(Shown(event.id, True, gettext(KIND_WORDS.get(event.kind, event.kind)), event.title,
                           _hours(event, viewer.zone, day), event.place, [*people, *event.guests], event.private,
                           event.starts_at))
    return shown


def agenda(session: Session, viewer: WebUser, entries: list[schedule.Entry], day: date) -> list[Shown]:
    """One day's entries as the schedule page shows them (for the dashboard's 오늘 일정)."""
    return _shown(entries, viewer, day, _named(session, [n for e in entries for n in e.event.attendees]))


def _owner_choices(session: Session, viewer: WebUser) -> list[User]:
    kept = schedule.owners(session, viewer.principal)
    return list({user.username: user for user in [*schedule.kept_schedules(session), *kept]}.values())


def _default_owner(session: Session, viewer: WebUser) -> str:
    """A 수행비서 opens the schedule they keep; everyone else the first schedule others keep (the
    mayor's), or their own when nobody's is kept."""
    kept = [user.username for user in schedule.owners(session, viewer.principal)[1:]]
    if kept:
        return kept[0]
    everyone = schedule.kept_schedules(session)
    return everyone[0].username if everyone else viewer.principal.username


def _parse_day(text: str, today: date) -> date:
    try:
        return date.fromisoformat(text) if text else today
    except ValueError:
        return today


@router.get("/schedule", response_class=HTMLResponse)
def schedule_page(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    owner: Annotated[str, Query(max_length=100)] = "", day: Annotated[str, Query(max_length=10)] = "",
    view: Annotated[str, Query(pattern="^(day|week)$")] = "day",
) -> HTMLResponse:
    return _schedule(request, viewer, session, services.ctx.clock(), owner, day, view)


def _schedule(request: Request, viewer: WebUser, session: Session, now: datetime, owner: str, day: str, view: str,
              feed_url: str | None = None) -> HTMLResponse:
    today = now.astimezone(viewer.zone).date()
    owner = owner or _default_owner(session, viewer)
    shown_owner = identity.get_user(session, owner)
    first = _parse_day(day, today)
    if view == "week":
        first -= timedelta(days=first.weekday())
    length = 7 if view == "week" else 1
    starts = datetime.combine(first, time(0), tzinfo=viewer.zone)
    entries = schedule.between(session, viewer.principal, owner, starts, starts + timedelta(days=length))
    names = _named(session, [name for e in entries if e.shown for name in e.event.attendees])
    days = []
    for offset in range(length):
        current = first + timedelta(days=offset)
        begins = datetime.combine(current, time(0), tzinfo=viewer.zone)
        on_day = [e for e in entries if e.event.starts_at < begins + timedelta(days=1) and e.event.ends_at > begins]
        days.append(Day(current, _day_label(current, viewer.locale), current == today,
                        _shown(on_day, viewer, current, names)))
    step = timedelta(days=length)

    def link(**changes: str) -> str:
        return "/schedule?" + urlencode({"owner": owner, "day": first.isoformat(), "view": view, **changes})

    return render(
        request, "schedule.html", viewer, section="schedule", days=days, view=view, owner=shown_owner,
        owner_name=person(shown_owner, owner), owners=_owner_choices(session, viewer),
        earlier=link(day=(first - step).isoformat()), later=link(day=(first + step).isoformat()),
        this_day=link(day=today.isoformat()), as_day=link(view="day"), as_week=link(view="week"),
        keeps=access.keeps_schedule_of(viewer.principal, owner), first=first, person=person, feed_url=feed_url,
        may_subscribe=viewer.principal.has_role(*access.STAFF),
    )


# -- an entry ----------------------------------------------------------------------------------


def _local_input(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _moment(text: str, zone: tzinfo) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _values_of(event: ScheduleEvent, zone: tzinfo) -> dict[str, Any]:
    return {"kind": event.kind, "title": event.title, "starts_at": _local_input(event.starts_at, zone),
            "ends_at": _local_input(event.ends_at, zone), "place": event.place, "guests": "\n".join(event.guests),
            "notes": event.notes, "attendees": list(event.attendees), "cases": list(event.cases),
            "private": event.private}


def _draft(owner: str, values: dict[str, Any], zone: tzinfo) -> schedule.Draft:
    return schedule.Draft(
        owner=owner, kind=values["kind"], title=values["title"], starts_at=_moment(values["starts_at"], zone),
        ends_at=_moment(values["ends_at"], zone), place=values["place"],
        attendees=tuple(values["attendees"]),
        guests=tuple(guest.strip() for guest in values["guests"].splitlines() if guest.strip()),
        cases=tuple(values["cases"]), notes=values["notes"], private=values["private"])


def _posted_values(posted: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(posted.get(name) or "").strip() for name in FIELDS}
    values["attendees"] = [str(v) for v in posted.getlist("attendees") if str(v)]
    values["cases"] = [str(v) for v in posted.getlist("cases") if str(v)]
    values["private"] = posted.get("private") == "on"
    return values


def _form_page(
    request: Request, viewer: WebUser, session: Session, owner: User, values: dict[str, Any], *,
    action: str, entry_id: int | None = None, status: int = 200, errors: dict[str, str] | None = None,
) -> HTMLResponse:
    people = identity.colleagues(session)
    departments: dict[str, list[identity.Colleague]] = {}
    for colleague in people:
        departments.setdefault(colleague.department or "", []).append(colleague)
    cases = {instance.id: instance for instance in worklist.find_instances(session, viewer.principal, limit=100)[0]}
    return render(
        request, "schedule_entry_form.html", viewer, status=status, section="schedule", owner=owner,
        owner_name=person(owner, owner.username), values=values, errors=errors or {}, kinds=KIND_WORDS,
        departments=departments, person=person, action=action, entry_id=entry_id,
        cases=[(i, (i.data or {}).get("title") or i.business_key or i.id[:8]) for i in cases.values()],
    )


def _errors(invalid: FormInvalid, locale: str) -> dict[str, str]:
    gettext = translations(locale).gettext
    found: dict[str, str] = {}
    for error in invalid.errors:
        found.setdefault(error["field"], gettext(error["message"]))
    return found


@router.get("/schedule/new", response_class=HTMLResponse)
def new_entry(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    owner: Annotated[str, Query(max_length=100)] = "", day: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    owner = owner or _default_owner(session, viewer)
    access.require_keeps_schedule_of(viewer.principal, owner)
    now = services.ctx.clock().astimezone(viewer.zone)
    on = _parse_day(day, now.date())
    starts = datetime.combine(on, time(10), tzinfo=viewer.zone) if on != now.date() else (
        now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    values = {"kind": "회의", "title": "", "starts_at": _local_input(starts, viewer.zone),
              "ends_at": _local_input(starts + timedelta(hours=1), viewer.zone), "place": "", "guests": "",
              "notes": "", "attendees": [], "cases": [], "private": False}
    return _form_page(request, viewer, session, identity.get_user(session, owner), values,
                      action=f"/schedule/new?{urlencode({'owner': owner})}")


@router.post("/schedule/new", response_class=HTMLResponse)
def add_entry(
    request: Request, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep,
    owner: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    check_csrf(posted, viewer)
    owner = owner or viewer.principal.username
    values = _posted_values(posted)
    try:
        event = commands.add_schedule_entry(session, services.ctx, viewer.principal,
                                            _draft(owner, values, viewer.zone))
    except FormInvalid as invalid:
        return _form_page(request, viewer, session, identity.get_user(session, owner), values, status=422,
                          errors=_errors(invalid, viewer.locale), action=f"/schedule/new?{urlencode({'owner': owner})}")
    day = event.starts_at.astimezone(viewer.zone).date().isoformat()
    return see_other(f"/schedule?{urlencode({'owner': owner, 'day': day})}",
                     translations(viewer.locale).gettext("The entry is on the schedule."))


@router.get("/schedule/{entry_id}", response_class=HTMLResponse)
def entry_page(request: Request, entry_id: RowId, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    entry = schedule.entry_for(viewer.principal, schedule.get(session, entry_id))
    event = entry.event
    owner = identity.get_user(session, event.owner)
    names = _named(session, list(event.attendees)) if entry.shown else {}
    cases = [session.get(Instance, case_id) for case_id in event.cases] if entry.shown else []
    readable = [case for case in cases if case is not None
                and access.may_see_instance(session, viewer.principal, case)]
    local = event.starts_at.astimezone(viewer.zone)
    gettext = translations(viewer.locale).gettext
    return render(
        request, "schedule_entry.html", viewer, section="schedule", entry=entry, event=event,
        owner_name=person(owner, owner.username), kind=gettext(KIND_WORDS.get(event.kind, event.kind)),
        day=_day_label(local.date(), viewer.locale), hours=_hours(event, viewer.zone, local.date()),
        attendees=[person(names.get(name), gettext("someone no longer listed")) for name in event.attendees],
        cases=readable, keeps=access.keeps_schedule_of(viewer.principal, event.owner),
        said=remarks.at_entry(session, event.id) if entry.shown else [],
        directive_link="/processes/directive/start?" + urlencode({"title": event.title, "from_schedule": event.id}),
        back=f"/schedule?{urlencode({'owner': event.owner, 'day': local.date().isoformat()})}",
    )


@router.get("/schedule/{entry_id}/edit", response_class=HTMLResponse)
def edit_entry(request: Request, entry_id: RowId, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    event = schedule.get(session, entry_id)
    access.require_keeps_schedule_of(viewer.principal, event.owner)
    return _form_page(request, viewer, session, identity.get_user(session, event.owner),
                      _values_of(event, viewer.zone), action=f"/schedule/{entry_id}/edit", entry_id=entry_id)


@router.post("/schedule/{entry_id}/edit", response_class=HTMLResponse)
def change_entry(
    request: Request, entry_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep,
) -> Response:
    check_csrf(posted, viewer)
    event = schedule.get(session, entry_id)
    values = _posted_values(posted)
    try:
        commands.change_schedule_entry(session, services.ctx, viewer.principal, entry_id,
                                       _draft(event.owner, values, viewer.zone))
    except FormInvalid as invalid:
        return _form_page(request, viewer, session, identity.get_user(session, event.owner), values, status=422,
                          errors=_errors(invalid, viewer.locale), action=f"/schedule/{entry_id}/edit",
                          entry_id=entry_id)
    return see_other(f"/schedule/{entry_id}", translations(viewer.locale).gettext("The entry is changed."))


@router.post("/schedule/{entry_id}/cancel")
def cancel_entry(entry_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep,
                 services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    event = commands.cancel_schedule_entry(session, services.ctx, viewer.principal, entry_id)
    day = event.starts_at.astimezone(viewer.zone).date().isoformat()
    return see_other(f"/schedule?{urlencode({'owner': event.owner, 'day': day})}",
                     translations(viewer.locale).gettext("The entry is cancelled."))


@router.post("/schedule/feed", response_class=HTMLResponse)
def renew_feed(request: Request, viewer: Viewer, posted: Posted, session: SessionDep,
               services: ServicesDep) -> HTMLResponse:
    """A new calendar address, shown once on the page this answers with — never in an address bar or
    a log (the old one stops working)."""
    check_csrf(posted, viewer)
    token = commands.renew_calendar_feed(session, services.ctx, viewer.principal)
    address = str(request.base_url).rstrip("/") + f"/calendar/{token}.ics"
    return _schedule(request, viewer, session, services.ctx.clock(), viewer.principal.username, "", "day", address)
