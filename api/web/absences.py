"""Absences on the web: record one's own 출장, 휴가, 교육 or 병가 with a deputy chosen from the
organisation, see those one stands in for, end one early; and the inbox's 대결 mark."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import RowId, ServicesDep, SessionDep
from api.web.common import Posted, Viewer, WebUser, check_csrf, environment, render, see_other
from api.web.i18n import LOCALES, translations
from engine import access, commands, identity, worklist
from engine.errors import FormInvalid
from engine.identity import Principal
from engine.models import Absence, OpenTask, User

router = APIRouter(include_in_schema=False)

FIELDS = ("username", "deputy", "kind", "starts_at", "ends_at")
# The kinds as the city names them (the values) and their English words (the catalogues' msgids).
KIND_WORDS = {"출장": "Business trip", "휴가": "Leave", "교육": "Training", "병가": "Sick leave"}
_WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def when(moment: datetime, zone: tzinfo, locale: str, now: datetime) -> str:
    """A moment as people read it in the city: ``12월 3일 (수) 09:00``, ``Wed 3 Dec 09:00``."""
    local = moment.astimezone(zone)
    other_year = local.year != now.astimezone(zone).year
    weekday = _WEEKDAYS["ko" if locale == "ko" else "en"][local.weekday()]
    if locale == "ko":
        return f"{f'{local.year}년 ' if other_year else ''}{local.month}월 {local.day}일 ({weekday}) {local:%H:%M}"
    return f"{weekday} {local.day} {_MONTHS[local.month - 1]}{f' {local.year}' if other_year else ''} {local:%H:%M}"


def person(user: User | Principal | None, fallback: str) -> str:
    """A person's name and position, never their login; the position once when the name ends with it
    (시장, 정책기획 주무관)."""
    if user is None:
        return fallback
    name = user.display_name
    return f"{name} · {user.position}" if user.position and not name.endswith(user.position) else name


@dataclass(frozen=True)
class AbsenceRow:
    id: int
    kind: str
    absent: str
    deputy: str
    starts: str
    ends: str
    starts_at: datetime
    ends_at: datetime
    current: bool
    mine: bool
    covering: bool
    can_end: bool


def _rows(session: Session, viewer: WebUser, absences: Sequence[Absence], now: datetime) -> list[AbsenceRow]:
    gettext = translations(viewer.locale).gettext
    me = viewer.principal
    names = worklist.users_named(session, sorted({a.username for a in absences} | {a.deputy for a in absences}))
    gone = gettext("someone no longer listed")
    return [
        AbsenceRow(
            id=a.id, kind=gettext(KIND_WORDS.get(a.kind, a.kind)),
            absent=person(names.get(a.username), gone), deputy=person(names.get(a.deputy), gone),
            starts=when(a.starts_at, viewer.zone, viewer.locale, now),
            ends=when(a.ends_at, viewer.zone, viewer.locale, now),
            starts_at=a.starts_at, ends_at=a.ends_at, current=a.starts_at <= now,
            mine=a.username == me.username, covering=a.deputy == me.username,
            can_end=me.has_role(*access.STAFF) and (a.username == me.username or me.has_role("admin")),
        )
        for a in absences
    ]


def _local_input(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _moment(text: str, zone: tzinfo) -> datetime | None:
    """A ``datetime-local`` value, a wall-clock time in the city; None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _page(
    request: Request, viewer: WebUser, session: Session, now: datetime, *, status: int = 200,
    values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
) -> HTMLResponse:
    if values is None:
        starts = (now.astimezone(viewer.zone) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        values = {"username": "", "deputy": "", "kind": "휴가", "starts_at": _local_input(starts, viewer.zone),
                  "ends_at": ""}
    people = identity.colleagues(session)
    departments: dict[str, list[identity.Colleague]] = {}
    for colleague in people:
        departments.setdefault(colleague.department or "", []).append(colleague)
    return render(
        request, "absences.html", viewer, status=status, section="absences",
        absences=_rows(session, viewer, identity.absences_seen(session, viewer.principal, now), now),
        departments=departments, kinds=KIND_WORDS, values=values, errors=errors or {},
        may_record=viewer.principal.has_role(*access.STAFF), is_admin=viewer.principal.has_role("admin"),
    )


@router.get("/absences", response_class=HTMLResponse)
def absences_page(request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    return _page(request, viewer, session, services.ctx.clock())


@router.post("/absences", response_class=HTMLResponse)
def record_absence(
    request: Request, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep
) -> Response:
    check_csrf(posted, viewer)
    values = {name: str(posted.get(name) or "").strip() for name in FIELDS}
    gettext = translations(viewer.locale).gettext
    try:
        commands.record_absence(
            session, services.ctx, viewer.principal, values["username"] or None, values["deputy"], values["kind"],
            _moment(values["starts_at"], viewer.zone), _moment(values["ends_at"], viewer.zone),
        )
    except FormInvalid as invalid:
        errors: dict[str, str] = {}
        for error in invalid.errors:
            errors.setdefault(error["field"], gettext(error["message"]))
        return _page(request, viewer, session, services.ctx.clock(), status=422, values=values, errors=errors)
    return see_other("/absences", gettext("The absence is recorded; your deputy sees your tasks while it lasts."))


@router.post("/absences/{absence_id}/end")
def end_absence(
    absence_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep
) -> Response:
    check_csrf(posted, viewer)
    commands.end_absence(session, services.ctx, viewer.principal, absence_id)
    return see_other("/absences", translations(viewer.locale).gettext("The absence is ended."))


# -- the inbox's 대결 mark ---------------------------------------------------------------------


def by_colleague(principal: Principal, tasks: Iterable[OpenTask]) -> list[tuple[Principal | None, list[OpenTask]]]:
    """``tasks`` grouped by whom ``principal`` acts for on them: their own first (even when there
    are none), then each absent colleague they stand in for (대결)."""
    groups: dict[str, list[OpenTask]] = {}
    for task in tasks:
        acting = access.acting_for(principal, task)
        groups.setdefault(acting if acting and acting != principal.username else "", []).append(task)
    covered = {p.username: p for p in principal.covering}
    return [(None, groups.get("", []))] + [(covered[name], found) for name, found in groups.items()
                                            if name and name in covered]


def _template_globals() -> dict[str, Any]:
    return {"by_colleague": by_colleague, "person": person}


# The inbox (``api.web.work``) marks 대결 with these; every page's templates share them.
for _locale in LOCALES:
    environment(_locale).globals.update(_template_globals())
