"""말씀 on the web: the mayor's remarks searched by words, topic and time; one remark with the
directives it produced and the schedule entry it was said at; written down by the 비서실."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
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
from engine.errors import FormInvalid, NotFound
from engine.models import Remark

router = APIRouter(include_in_schema=False)

KIND_WORDS = {"회의": "Meeting", "연설": "Speech", "현장": "On site", "면담": "Interview", "행사": "Event",
              "기타": "Other"}
FIELDS = ("said_at", "kind", "occasion", "text", "tags")


def _day(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/remarks", response_class=HTMLResponse)
def remarks_page(
    request: Request, viewer: Viewer, session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "", tag: Annotated[str, Query(max_length=30)] = "",
    since: Annotated[str, Query(max_length=10)] = "", until: Annotated[str, Query(max_length=10)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    first, last = _day(since), _day(until)
    found = remarks.search(
        session, q=q, tag=tag, before_id=before, limit=remarks.PAGE + 1,
        since=first.replace(tzinfo=viewer.zone) if first else None,
        until=(last.replace(tzinfo=viewer.zone) + timedelta(days=1)) if last else None)
    more = len(found) > remarks.PAGE
    found = found[:remarks.PAGE]
    speakers = worklist.users_named(session, sorted({r.speaker for r in found}))
    gettext = translations(viewer.locale).gettext
    query = {"q": q, "tag": tag, "since": since, "until": until}
    return render(
        request, "remarks.html", viewer, section="remarks", remarks=found, q=q, tag=tag, since=since, until=until,
        topics=remarks.topics(session), speaker=lambda r: person(speakers.get(r.speaker), r.speaker),
        kind=lambda r: gettext(KIND_WORDS.get(r.kind, r.kind)),
        next_page=f"/remarks?{urlencode({**query, 'before': found[-1].id})}" if more else None,
        may_record=any(access.records_remarks_of(viewer.principal, owner.username)
                       for owner in schedule.kept_schedules(session)) or viewer.principal.has_role("admin"),
    )


def _local_input(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _draft(speaker: str, values: dict[str, Any], zone: tzinfo, entry_id: int | None) -> remarks.Draft:
    said = _day(values["said_at"])
    if said is not None and said.tzinfo is None:
        said = said.replace(tzinfo=zone)
    tags = tuple(tag for tag in (part.strip() for part in values["tags"].replace("#", " ").replace(",", " ").split())
                 if tag)
    return remarks.Draft(speaker=speaker, said_at=said, kind=values["kind"], occasion=values["occasion"],
                         text=values["text"], tags=tags, schedule_entry_id=entry_id)


def _form(request: Request, viewer: WebUser, session: Session, speaker: str, values: dict[str, Any], *,
          action: str, entry_id: int | None, status: int = 200, errors: dict[str, str] | None = None,
          ) -> HTMLResponse:
    owner = identity.get_user(session, speaker)
    return render(request, "remark_form.html", viewer, status=status, section="remarks", values=values,
                  errors=errors or {}, kinds=KIND_WORDS, action=action, entry_id=entry_id,
                  speaker_name=person(owner, speaker),
                  entry=schedule.get(session, entry_id) if entry_id else None)


def _from_schedule(session: Session, viewer: WebUser, entry_id: int | None) -> Any:
    if entry_id is None:
        return None
    try:
        entry = schedule.entry_for(viewer.principal, schedule.get(session, entry_id))
    except NotFound:
        return None
    return entry.event if entry.shown else None


@router.get("/remarks/new", response_class=HTMLResponse)
def new_remark(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    from_schedule: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    """A remark to write down — from a schedule entry, its day, occasion and speaker filled in."""
    event = _from_schedule(session, viewer, from_schedule)
    speaker = event.owner if event is not None else _speaker(session, viewer)
    access.require_records_remarks_of(viewer.principal, speaker)
    kinds = {"회의": "회의", "현장방문": "현장", "행사": "행사", "면담": "면담"}
    said = event.starts_at if event is not None else services.ctx.clock()
    values = {"said_at": _local_input(said, viewer.zone), "kind": kinds.get(event.kind, "기타") if event else "회의",
              "occasion": event.title if event else "", "text": "", "tags": ""}
    return _form(request, viewer, session, speaker, values, entry_id=event.id if event else None,
                 action="/remarks/new?" + urlencode({"speaker": speaker, **({"entry": event.id} if event else {})}))


def _speaker(session: Session, viewer: WebUser) -> str:
    kept = [user.username for user in schedule.owners(session, viewer.principal)[1:]]
    everyone = schedule.kept_schedules(session)
    return kept[0] if kept else everyone[0].username if everyone else viewer.principal.username


@router.post("/remarks/new", response_class=HTMLResponse)
def add_remark(
    request: Request, viewer: Viewer, posted: Posted, session: SessionDep, services: ServicesDep,
    speaker: Annotated[str, Query(max_length=100)] = "", entry: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    check_csrf(posted, viewer)
    values = {name: str(posted.get(name) or "").strip() for name in FIELDS}
    speaker = speaker or _speaker(session, viewer)
    try:
        remark = commands.add_remark(session, services.ctx, viewer.principal,
                                     _draft(speaker, values, viewer.zone, entry))
    except FormInvalid as invalid:
        gettext = translations(viewer.locale).gettext
        errors: dict[str, str] = {}
        for error in invalid.errors:
            errors.setdefault(error["field"], gettext(error["message"]))
        return _form(request, viewer, session, speaker, values, entry_id=entry, status=422, errors=errors,
                     action="/remarks/new?" + urlencode({"speaker": speaker, **({"entry": entry} if entry else {})}))
    return see_other(f"/remarks/{remark.id}", translations(viewer.locale).gettext("The remark is kept."))


@router.get("/remarks/{remark_id}", response_class=HTMLResponse)
def remark_page(request: Request, remark_id: RowId, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    remark: Remark = remarks.get(session, remark_id)
    speaker = identity.get_user(session, remark.speaker)
    produced = [case for case in remarks.directives_of(session, remark.id)
                if access.may_see_instance(session, viewer.principal, case)]
    event = _from_schedule(session, viewer, remark.schedule_entry_id)
    local = remark.said_at.astimezone(viewer.zone)
    gettext = translations(viewer.locale).gettext
    return render(
        request, "remark.html", viewer, section="remarks", remark=remark, speaker=person(speaker, remark.speaker),
        kind=gettext(KIND_WORDS.get(remark.kind, remark.kind)), said=f"{local:%Y-%m-%d %H:%M}", directives=produced,
        event=event, may_direct=viewer.principal.has_role(*access.STAFF),
        directive_link="/processes/directive/start?" + urlencode({"title": remark.occasion, "from_remark": remark.id}),
    )
