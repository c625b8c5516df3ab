"""People the mayor meets (인물) over the API: who they are for everyone who works here; their personal
data for those who keep the register, each reading for a purpose and on record; erasure on request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import Anyone, RowId, ServicesDep, SessionDep, Staff
from engine import commands, persons
from engine.identity import Principal
from engine.models import Person

router = APIRouter(prefix="/api", tags=["persons"])


def _choice(values: tuple[str, ...], description: str) -> Any:
    """A text that is one of ``values``: listed in the API's description; the engine names a wrong one."""
    return Field(max_length=30, description=description, json_schema_extra={"enum": list(values)})


class PersonIn(BaseModel):
    """A person as registered or changed. A personal field left out (or null) stays as it is; an empty
    text empties it."""

    name: str = Field(max_length=100)
    kind: Annotated[str, _choice(persons.KINDS, "시민, 전문가, 공무원, 기관·단체, 언론, 의원 or 기타")]
    organisation: str = Field(default="", max_length=200)
    position: str = Field(default="", max_length=100)
    tags: list[Annotated[str, Field(max_length=30)]] = Field(
        default=[], max_length=persons.MOST_TAGS, description="topics (교통, 환경), not remarks on the person")
    phone: str | None = Field(default=None, max_length=40, description="personal data")
    email: str | None = Field(default=None, max_length=200, description="personal data")
    address: str | None = Field(default=None, max_length=300, description="personal data")
    notes: str | None = Field(default=None, max_length=persons.NOTES_LIMIT, description="personal data")

    def draft(self) -> persons.Draft:
        return persons.Draft(name=self.name, kind=self.kind, organisation=self.organisation, position=self.position,
                             tags=tuple(self.tags), phone=self.phone, email=self.email, address=self.address,
                             notes=self.notes)


class ErasureOut(BaseModel):
    at: datetime
    by: str | None = Field(description="who erased them, by username")
    channel: str | None = Field(description="how the request came: 전화, 방문, 서면, 전자우편, 기타")


class HistoryOut(BaseModel):
    link_id: int
    kind: str = Field(description="schedule, remark or case")
    target: str = Field(description="the schedule entry's or remark's id, the case's id")
    at: datetime
    title: str
    detail: str = Field(description="the entry's place, the remark's words, the case's status")
    role: str
    process_key: str | None = None
    cancelled: bool = False


class PersonOut(BaseModel):
    """Who a person is — readable by everyone who works here. ``personal_fields`` names the personal data
    kept (``phone``, ``email``, ``address``, ``notes``), not what they hold. An erased person has only
    ``id`` and ``erased``."""

    id: int
    name: str | None
    kind: str | None
    organisation: str
    position: str
    tags: list[str]
    personal_fields: list[str]
    created_at: datetime
    updated_at: datetime
    erased: ErasureOut | None = None
    history: list[HistoryOut] | None = Field(default=None, description="where they appear, newest first (one person)")


class PersonPage(BaseModel):
    items: list[PersonOut]
    matching: int
    next_offset: int | None


class ReadIn(BaseModel):
    purpose: Annotated[str, _choice(persons.PURPOSES, "why you read them; recorded with the reading")]


class PersonalDataOut(BaseModel):
    person: int
    purpose: str
    phone: str
    email: str
    address: str
    notes: str


class ViewOut(BaseModel):
    at: datetime
    actor: str
    purpose: str
    fields: list[str]


class LinkIn(BaseModel):
    kind: Annotated[str, _choice(persons.LINK_KINDS, "schedule, remark or case")]
    target: str = Field(max_length=36, description="the schedule entry's or remark's id, the case's id")
    role: str = Field(default="", max_length=50, description="참석, 요청, 자문, 언급 …")


class EraseIn(BaseModel):
    channel: Annotated[str, _choice(persons.CHANNELS, "how the person asked to be erased")]


def person_out(person: Person, fields: list[str], history: list[persons.HistoryItem] | None = None) -> PersonOut:
    erased = ErasureOut(at=person.erased_at, by=person.erased_by, channel=person.erasure_channel) \
        if person.erased_at else None
    return PersonOut(
        id=person.id, name=person.name, kind=person.kind, organisation=person.organisation, position=person.position,
        tags=list(person.tags or []), personal_fields=fields, created_at=person.created_at,
        updated_at=person.updated_at, erased=erased,
        history=None if history is None else [HistoryOut(**vars(item)) for item in history])


def _one(session: SessionDep, principal: Principal, person: Person) -> PersonOut:
    fields = persons.personal_fields(session, [person.id]).get(person.id, [])
    return person_out(person, fields, persons.history(session, principal, person))


@router.get("/persons", response_model=PersonPage)
def search_persons(
    principal: Anyone, session: SessionDep,
    q: Annotated[str, Query(max_length=100, description="words of the name, organisation or position")] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    tag: Annotated[str, Query(max_length=30)] = "",
    erased: Annotated[bool, Query(description="the erased ones instead (those who keep the register, auditors)")]
    = False,
    limit: Annotated[int, Query(ge=1, le=500)] = persons.PAGE,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> PersonPage:
    """People in name order (the erased ones newest first)."""
    if erased:
        persons.require_reads_views(session, principal)
    found, matching = persons.search(session, q=q, kind=kind, tag=tag, erased=erased, limit=limit, offset=offset)
    fields = persons.personal_fields(session, [person.id for person in found])
    return PersonPage(items=[person_out(person, fields.get(person.id, [])) for person in found], matching=matching,
                      next_offset=offset + limit if offset + limit < matching else None)


@router.post("/persons", status_code=201, response_model=PersonOut)
def add_person(body: PersonIn, principal: Staff, session: SessionDep, services: ServicesDep) -> PersonOut:
    """Register a person (the group 인물관리, the mayor, the 비서실); 422 names each field that is wrong."""
    return _one(session, principal, commands.add_person(session, services.ctx, principal, body.draft()))


@router.get("/persons/{person_id}", response_model=PersonOut)
def get_person(person_id: RowId, principal: Anyone, session: SessionDep) -> PersonOut:
    """Who a person is and where they appear; never their personal data."""
    return _one(session, principal, persons.get(session, person_id))


@router.put("/persons/{person_id}", response_model=PersonOut)
def change_person(person_id: RowId, body: PersonIn, principal: Staff, session: SessionDep,
                  services: ServicesDep) -> PersonOut:
    return _one(session, principal, commands.change_person(session, services.ctx, principal, person_id, body.draft()))


@router.post("/persons/{person_id}/personal-data", response_model=PersonalDataOut)
def read_personal_data(person_id: RowId, body: ReadIn, principal: Staff, session: SessionDep,
                       services: ServicesDep) -> PersonalDataOut:
    """A person's contacts and notes, for a purpose: recorded with who and when (403
    ``PersonalDataRefused`` for those who do not keep the register — recorded too; auditors read who
    read them, not the data)."""
    data = commands.read_personal_data(session, services.ctx, principal, person_id, body.purpose)
    return PersonalDataOut(person=person_id, purpose=body.purpose, **vars(data))


@router.get("/persons/{person_id}/views", response_model=list[ViewOut])
def person_views(person_id: RowId, principal: Anyone, session: SessionDep) -> list[ViewOut]:
    """Who read the person's personal data, when and for what, newest first (those who keep the
    register, auditors, admins)."""
    persons.require_reads_views(session, principal)
    person = persons.get(session, person_id)
    return [ViewOut(at=v.at, actor=v.actor, purpose=v.purpose, fields=list(v.fields))
            for v in persons.views(session, person.id)]


@router.post("/persons/{person_id}/links", status_code=201, response_model=PersonOut)
def link_person(person_id: RowId, body: LinkIn, principal: Staff, session: SessionDep,
                services: ServicesDep) -> PersonOut:
    """Say where the person appears: a schedule entry, a remark or a case you may read."""
    person = commands.link_person(session, services.ctx, principal, person_id, body.kind, body.target, body.role)
    return _one(session, principal, person)


@router.delete("/persons/{person_id}/links/{link_id}", response_model=PersonOut)
def unlink_person(person_id: RowId, link_id: RowId, principal: Staff, session: SessionDep,
                  services: ServicesDep) -> PersonOut:
    return _one(session, principal, commands.unlink_person(session, services.ctx, principal, person_id, link_id))


@router.post("/persons/{person_id}/erase", response_model=PersonOut)
def erase_person(person_id: RowId, body: EraseIn, principal: Staff, session: SessionDep,
                 services: ServicesDep) -> PersonOut:
    """Erase a person at their request: personal data and links deleted, who they were emptied; the row
    keeps when, by whom and how the request came (409 ``PersonErased`` when it was done already)."""
    return _one(session, principal, commands.erase_person(session, services.ctx, principal, person_id, body.channel))
