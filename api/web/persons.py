"""인물 on the web: the register of people the mayor meets, searched by name, organisation, kind and
topic; a person's page with where they appear, their contacts and notes revealed for a purpose (and
that reading on record) to those who keep the register, and who read them; registering, changing,
linking and erasing a person at their request, with a confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import RowId, ServicesDep, SessionDep
from api.web.absences import person as person_name
from api.web.common import Posted, Viewer, WebUser, check_csrf, process_names, render, see_other
from api.web.i18n import translations
from engine import commands, persons, worklist
from engine.errors import FormInvalid, PersonalDataRefused, PersonErased
from engine.models import Person

router = APIRouter(include_in_schema=False)

# The register's values as the city names them, and their English words (the catalogues' msgids).
KIND_WORDS = {"시민": "Citizen", "전문가": "Expert", "공무원": "Public official", "기관·단체": "Organisation or group",
              "언론": "Press", "의원": "Council member", "기타": "Other"}
PURPOSE_WORDS = {"일정 조율": "Arranging a meeting", "민원 회신": "Answering a complaint",
                 "행사 초청": "Inviting to an event", "자문 요청": "Asking for advice",
                 "면담 후속 조치": "Following up a meeting", "정보 수정": "Correcting the record"}
CHANNEL_WORDS = {"전화": "By phone", "방문": "In person", "서면": "In writing", "전자우편": "By e-mail",
                 "기타": "Other"}
FIELD_WORDS = {"name": "Name", "kind": "Kind", "organisation": "Organisation", "position": "Position",
               "tags": "Topics", "phone": "Phone", "email": "E-mail", "address": "Address", "notes": "Notes"}
LINK_WORDS = {"schedule": "Schedule", "remark": "Remark"}
ROLES = ("참석", "요청", "자문", "언급", "초청")
FIELDS = ("name", "kind", "organisation", "position", "tags", "phone", "email", "address", "notes")
EDIT_PURPOSE = "정보 수정"


def _words(viewer: WebUser) -> Callable[[dict[str, str], str | None], str]:
    gettext = translations(viewer.locale).gettext

    def word(table: dict[str, str], value: str | None) -> str:
        return gettext(table[value]) if value in table else (value or "")

    return word


def _refuse(viewer: WebUser) -> PersonalDataRefused:
    gettext = translations(viewer.locale).gettext
    return PersonalDataRefused(gettext(
        "Contacts and notes of people are kept by those who keep the register of people, the mayor and the "
        "mayor's office; you are not among them."))


def _private(page: HTMLResponse) -> HTMLResponse:
    """A page showing personal data: kept by no cache, the browser's included."""
    page.headers["Cache-Control"] = "no-store"
    return page


def _require_keeps(session: Session, viewer: WebUser) -> None:
    if not persons.keeps(session, viewer.principal):
        raise _refuse(viewer)


@router.get("/persons", response_class=HTMLResponse)
def persons_page(
    request: Request, viewer: Viewer, session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "", kind: Annotated[str, Query(max_length=20)] = "",
    tag: Annotated[str, Query(max_length=30)] = "", erased: Annotated[str, Query(max_length=1)] = "",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    shows_erased = erased == "1" and persons.reads_views(session, viewer.principal)
    found, total = persons.search(session, q=q, kind=kind if kind in persons.KINDS else "", tag=tag,
                                  erased=shows_erased, offset=offset)
    query = {name: value for name, value in (("q", q), ("kind", kind), ("tag", tag), ("erased", erased)) if value}
    fields = persons.personal_fields(session, [p.id for p in found])
    erasers = worklist.users_named(session, sorted({p.erased_by for p in found if p.erased_by}))
    return render(
        request, "persons.html", viewer, section="persons", found=found, total=total, q=q, kind=kind, tag=tag,
        erased=shows_erased, kinds=persons.KINDS, word=_words(viewer), kind_words=KIND_WORDS,
        channel_words=CHANNEL_WORDS, topics=persons.topics(session), has_contacts=lambda p: bool(fields.get(p.id)),
        eraser=lambda p: person_name(erasers.get(p.erased_by or ""), "—"),
        keeps=persons.keeps(session, viewer.principal),
        reads_erased=persons.reads_views(session, viewer.principal),
        next_page=f"/persons?{urlencode({**query, 'offset': offset + persons.PAGE})}"
        if offset + persons.PAGE < total else None,
        previous_page=f"/persons?{urlencode({**query, 'offset': max(0, offset - persons.PAGE)})}" if offset else None,
    )


# -- registering and changing -----------------------------------------------------------------------


def _values_of(person: Person, data: persons.PersonalData) -> dict[str, str]:
    return {"name": person.name or "", "kind": person.kind or "", "organisation": person.organisation,
            "position": person.position, "tags": " ".join(f"#{tag}" for tag in person.tags or []),
            "phone": data.phone, "email": data.email, "address": data.address, "notes": data.notes}


def _draft(values: dict[str, str]) -> persons.Draft:
    tags = tuple(part for part in values["tags"].replace("#", " ").replace(",", " ").split() if part)
    return persons.Draft(name=values["name"], kind=values["kind"], organisation=values["organisation"],
                         position=values["position"], tags=tags, phone=values["phone"], email=values["email"],
                         address=values["address"], notes=values["notes"])


def _form(request: Request, viewer: WebUser, values: dict[str, str], *, action: str, person: Person | None = None,
          status: int = 200, errors: dict[str, str] | None = None) -> HTMLResponse:
    return render(request, "person_form.html", viewer, status=status, section="persons", values=values,
                  errors=errors or {}, kinds=persons.KINDS, word=_words(viewer), kind_words=KIND_WORDS,
                  action=action, person=person)


def _invalid(viewer: WebUser, invalid: FormInvalid) -> dict[str, str]:
    gettext = translations(viewer.locale).gettext
    errors: dict[str, str] = {}
    for error in invalid.errors:
        errors.setdefault(error["field"], gettext(error["message"]))
    return errors


@router.get("/persons/new", response_class=HTMLResponse)
def new_person(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    _require_keeps(session, viewer)
    return _form(request, viewer, dict.fromkeys(FIELDS, ""), action="/persons/new")


@router.post("/persons/new", response_class=HTMLResponse)
def add_person(request: Request, viewer: Viewer, posted: Posted, session: SessionDep,
               services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    _require_keeps(session, viewer)
    values = {name: str(posted.get(name) or "").strip() for name in FIELDS}
    try:
        added = commands.add_person(session, services.ctx, viewer.principal, _draft(values))
    except FormInvalid as invalid:
        return _form(request, viewer, values, action="/persons/new", status=422, errors=_invalid(viewer, invalid))
    return see_other(f"/persons/{added.id}", translations(viewer.locale).gettext("The person is registered."))


@router.get("/persons/{person_id}/edit", response_class=HTMLResponse)
def edit_person(request: Request, person_id: RowId, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    """Changing shows the contacts, so it starts with a button that reads them for correcting the record."""
    person = persons.get(session, person_id)
    _require_keeps(session, viewer)
    return render(request, "person_edit.html", viewer, section="persons", person=person,
                  purpose=_words(viewer)(PURPOSE_WORDS, EDIT_PURPOSE))


@router.post("/persons/{person_id}/edit", response_class=HTMLResponse)
def open_person_form(request: Request, person_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep,
                     services: ServicesDep) -> HTMLResponse:
    """The form with what is kept now — the contacts read for correcting the record, and that reading on record."""
    check_csrf(posted, viewer)
    _require_keeps(session, viewer)
    person = persons.get(session, person_id)
    data = commands.read_personal_data(session, services.ctx, viewer.principal, person_id, EDIT_PURPOSE)
    return _private(_form(request, viewer, _values_of(person, data), action=f"/persons/{person_id}/save",
                          person=person))


@router.post("/persons/{person_id}/save", response_class=HTMLResponse)
def save_person(request: Request, person_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep,
                services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    _require_keeps(session, viewer)
    values = {name: str(posted.get(name) or "").strip() for name in FIELDS}
    try:
        commands.change_person(session, services.ctx, viewer.principal, person_id, _draft(values))
    except FormInvalid as invalid:
        return _form(request, viewer, values, action=f"/persons/{person_id}/save", status=422,
                     person=persons.get(session, person_id), errors=_invalid(viewer, invalid))
    return see_other(f"/persons/{person_id}", translations(viewer.locale).gettext("The changes are kept."))


# -- a person's page ------------------------------------------------------------------------------


def _person_page(request: Request, viewer: WebUser, session: Session, person: Person, *,
                 revealed: persons.PersonalData | None = None, purpose: str = "",
                 errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    principal = viewer.principal
    keeps = persons.keeps(session, principal)
    reads_views = persons.reads_views(session, principal)
    views = persons.views(session, person.id) if reads_views else []
    names = worklist.users_named(session, sorted({view.actor for view in views} | {person.erased_by or ""}))
    word = _words(viewer)
    gettext = translations(viewer.locale).gettext
    processes = process_names(session, viewer.locale)

    def kind_of(item: persons.HistoryItem | persons.Candidate) -> str:
        if item.kind == "case":
            key = getattr(item, "process_key", None)
            return processes.get(key, gettext("Case")) if key else gettext("Case")
        return word(LINK_WORDS, item.kind)

    alive = person.erased_at is None
    return render(
        request, "person.html", viewer, status=status, section="persons", person=person, word=word,
        kind_words=KIND_WORDS, purpose_words=PURPOSE_WORDS, channel_words=CHANNEL_WORDS, field_words=FIELD_WORDS,
        purposes=persons.PURPOSES, keeps=keeps and alive, reads_views=reads_views, views=views,
        reader=lambda username: person_name(names.get(username), "—"),
        filled=persons.personal_fields(session, [person.id]).get(person.id, []),
        revealed=revealed, purpose=purpose, errors=errors or {},
        history=persons.history(session, principal, person) if alive else [], kind_of=kind_of,
        candidates=persons.candidates(session, principal, person, viewer.now or person.updated_at)
        if keeps and alive else [],
        roles=ROLES, eraser=person_name(names.get(person.erased_by or ""), "—"),
    )


@router.get("/persons/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, person_id: RowId, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    return _person_page(request, viewer, session, persons.get(session, person_id))


@router.post("/persons/{person_id}/reveal", response_class=HTMLResponse)
def reveal_person(request: Request, person_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep,
                  services: ServicesDep) -> HTMLResponse:
    """The person's page with their contacts and notes, read for the purpose chosen (on record). They
    are in this answer only: reloading asks again."""
    check_csrf(posted, viewer)
    person = persons.get(session, person_id)
    purpose = str(posted.get("purpose") or "")
    if not persons.keeps(session, viewer.principal):
        try:  # refused, and the attempt recorded
            commands.read_personal_data(session, services.ctx, viewer.principal, person_id, purpose)
        except PersonalDataRefused as refused:
            raise PersonalDataRefused(_refuse(viewer).detail, recorded=True) from refused
    if purpose not in persons.PURPOSES:
        gettext = translations(viewer.locale).gettext
        return _person_page(request, viewer, session, person, status=422,
                            errors={"purpose": gettext("Choose what you read them for.")})
    data = commands.read_personal_data(session, services.ctx, viewer.principal, person_id, purpose)
    return _private(_person_page(request, viewer, session, person, revealed=data, purpose=purpose))


@router.post("/persons/{person_id}/links", response_class=HTMLResponse)
def link_person(request: Request, person_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep,
                services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    _require_keeps(session, viewer)
    kind, _, target = str(posted.get("target") or "").partition(":")
    try:
        commands.link_person(session, services.ctx, viewer.principal, person_id, kind, target,
                             str(posted.get("role") or ""))
    except FormInvalid as invalid:
        return _person_page(request, viewer, session, persons.get(session, person_id), status=422,
                            errors=_invalid(viewer, invalid))
    return see_other(f"/persons/{person_id}#history", translations(viewer.locale).gettext("The link is kept."))


@router.post("/persons/{person_id}/links/{link_id}/remove", response_class=HTMLResponse)
def unlink_person(person_id: RowId, link_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep,
                  services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    _require_keeps(session, viewer)
    commands.unlink_person(session, services.ctx, viewer.principal, person_id, link_id)
    return see_other(f"/persons/{person_id}#history", translations(viewer.locale).gettext("The link is removed."))


# -- erasure on request ----------------------------------------------------------------------------


@router.get("/persons/{person_id}/erase", response_class=HTMLResponse)
def erase_confirmation(request: Request, person_id: RowId, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    person = persons.get(session, person_id)
    _require_keeps(session, viewer)
    if person.erased_at is not None:
        raise PersonErased(translations(viewer.locale).gettext("This person was erased at their request already."))
    return render(request, "person_erase.html", viewer, section="persons", person=person, word=_words(viewer),
                  kind_words=KIND_WORDS, channels=persons.CHANNELS, channel_words=CHANNEL_WORDS, errors={},
                  links=len(persons.history(session, viewer.principal, person)))


@router.post("/persons/{person_id}/erase", response_class=HTMLResponse)
def erase_person(request: Request, person_id: RowId, viewer: Viewer, posted: Posted, session: SessionDep,
                 services: ServicesDep) -> Response:
    check_csrf(posted, viewer)
    _require_keeps(session, viewer)
    gettext = translations(viewer.locale).gettext
    channel = str(posted.get("channel") or "")
    person = persons.get(session, person_id)
    if posted.get("confirm") != "yes" or channel not in persons.CHANNELS:
        errors = {"confirm": gettext("Confirm that the person asked to be erased.")} if posted.get("confirm") != "yes" \
            else {"channel": gettext("Say how the request came.")}
        return render(request, "person_erase.html", viewer, status=422, section="persons", person=person,
                      word=_words(viewer), kind_words=KIND_WORDS, channels=persons.CHANNELS,
                      channel_words=CHANNEL_WORDS, errors=errors, channel=channel,
                      links=len(persons.history(session, viewer.principal, person)))
    commands.erase_person(session, services.ctx, viewer.principal, person_id, channel)
    return see_other(f"/persons/{person_id}", gettext("The person's data are erased; the erasure is on record."))
