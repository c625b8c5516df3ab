"""People the mayor meets (인물): citizens, experts, officials, organisations' and the press's people —
who they are, how to reach them, and where they appear (the schedule entries they attended, remarks,
directives and pledges).

What is read by whom (the rule is ``engine.access.keeps_persons``):

- Who a person is — name, kind, organisation, position, topics — and their history are read by
  everyone who works here (each history item only when the reader may read it: a private schedule
  entry, a case they take no part in, are left out).
- Their personal data — phone, e-mail, address, notes — live apart (``PersonContact``) and are read
  only by those who keep the register (the group 인물관리, the mayor, the mayor's 비서실), each time
  for a purpose chosen from ``PURPOSES``; every reading is a ``person.viewed`` record (who, when,
  purpose, which fields) on the system chain, listed on the person's page for those who keep the
  register and for auditors. A refused attempt is recorded too (``person.refused``).

The trail never holds a person's values. Audit records are keyed and chained (``engine.audit``): a
value once written into one could never be taken out again without breaking verification. So every
record of this register — ``person.added``, ``person.changed``, ``person.viewed``, ``person.linked``,
``person.unlinked``, ``person.erased``, ``person.refused`` — names the person by number and the
fields by name only, never what they hold.

Erasure on request (개인정보 삭제 요청, ``erase``): the personal data row and the links are deleted, the
name, kind, organisation, position and topics emptied; the row keeps only when, by whom and how the
request came, and ``person.erased`` says which fields were erased, not what they held. Changes go
through ``engine.commands``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.orm import Session

from engine import access, audit, schedule
from engine.errors import FormInvalid, InvalidInput, NotFound, PersonalDataRefused, PersonErased
from engine.identity import Principal
from engine.models import AuditRecord, Instance, Person, PersonContact, PersonLink, Remark, ScheduleEvent

KINDS = ("시민", "전문가", "공무원", "기관·단체", "언론", "의원", "기타")
PURPOSES = ("일정 조율", "민원 회신", "행사 초청", "자문 요청", "면담 후속 조치", "정보 수정")
CHANNELS = ("전화", "방문", "서면", "전자우편", "기타")  # how a request to be erased came
LINK_KINDS = ("schedule", "remark", "case")
BASIC = ("name", "kind", "organisation", "position", "tags")
PERSONAL = ("phone", "email", "address", "notes")
LINKED_PROCESSES = ("directive", "pledge")  # the cases offered for linking (any readable case may be linked)
MOST_TAGS = 10
NOTES_LIMIT = 5000
PAGE = 50
MOST_VIEWS = 200

_PHONE = re.compile(r"^[0-9+()\- .]{4,40}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Draft:
    """A person as someone fills them in. A personal field left ``None`` stays as it is (a change that
    does not touch the contacts); ``""`` empties it."""

    name: str
    kind: str
    organisation: str = ""
    position: str = ""
    tags: tuple[str, ...] = ()
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class PersonalData:
    phone: str
    email: str
    address: str
    notes: str

    def filled(self) -> list[str]:
        return [name for name in PERSONAL if getattr(self, name)]


@dataclass(frozen=True)
class View:
    """One reading of a person's personal data, as the trail has it."""

    at: datetime
    actor: str
    purpose: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class HistoryItem:
    """Where a person appears, as one reader may see it."""

    link_id: int
    kind: str  # schedule, remark, case
    target: str
    at: datetime
    title: str
    detail: str  # the entry's place, the remark's words, the case's status
    role: str
    process_key: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class Candidate:
    """Something a person could be linked to, for the picker."""

    kind: str
    target: str
    at: datetime
    title: str
    mentions: bool = False  # a schedule entry whose guests name the person (or their position)


def check(draft: Draft) -> list[dict[str, str]]:
    """Every field of ``draft`` that is wrong, named (empty when it is fine)."""
    errors: list[dict[str, str]] = []

    def wrong(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not draft.name.strip():
        wrong("name", "give the person's name")
    elif len(draft.name.strip()) > 100:
        wrong("name", "a name is limited to 100 characters")
    if draft.kind not in KINDS:
        wrong("kind", "choose 시민, 전문가, 공무원, 기관·단체, 언론, 의원 or 기타")
    if len(draft.organisation) > 200:
        wrong("organisation", "an organisation is limited to 200 characters")
    if len(draft.position) > 100:
        wrong("position", "a position is limited to 100 characters")
    if len(draft.tags) > MOST_TAGS or any(not tag.strip() or len(tag) > 30 for tag in draft.tags):
        wrong("tags", f"at most {MOST_TAGS} topics, each in at most 30 characters")
    if draft.phone and not _PHONE.match(draft.phone.strip()):
        wrong("phone", "a phone number has digits, spaces and - + ( ) only")
    if draft.email and (len(draft.email) > 200 or not _EMAIL.match(draft.email.strip())):
        wrong("email", "write an e-mail address as name@example.kr")
    if draft.address and len(draft.address) > 300:
        wrong("address", "an address is limited to 300 characters")
    if draft.notes and len(draft.notes) > NOTES_LIMIT:
        wrong("notes", f"notes are limited to {NOTES_LIMIT:,} characters")
    return errors


def kept_schedules(session: Session) -> list[str]:
    """Whose schedules others keep (the mayor's): they and their 비서실 keep the register too."""
    return [user.username for user in schedule.kept_schedules(session)]


def keeps(session: Session, principal: Principal) -> bool:
    """Whether ``principal`` keeps the register and may read people's personal data (for a purpose)."""
    return access.keeps_persons(principal, kept_schedules(session))


def reads_views(session: Session, principal: Principal) -> bool:
    return access.reads_person_views(principal, kept_schedules(session))


def require_reads_views(session: Session, principal: Principal) -> None:
    """Who read whose personal data, and who was erased: for those who keep the register and auditors."""
    if not reads_views(session, principal):
        raise PersonalDataRefused("only those who keep the register of people, auditors and admins read who "
                                  "read personal data and who was erased")


def _basic(draft: Draft) -> dict[str, Any]:
    return {"name": draft.name.strip(), "kind": draft.kind, "organisation": draft.organisation.strip(),
            "position": draft.position.strip(),
            "tags": list(dict.fromkeys(tag.strip().lstrip("#") for tag in draft.tags if tag.strip()))}


def _personal(draft: Draft) -> dict[str, str]:
    """The personal fields the draft sets (those left ``None`` stay as they are)."""
    given = {"phone": draft.phone, "email": draft.email, "address": draft.address, "notes": draft.notes}
    return {name: value.strip() for name, value in given.items() if value is not None}


def _record(session: Session, action: str, actor: str, person_id: int, now: datetime, **detail: Any) -> None:
    """A record of the register on the system chain: the person's number and field names, never values."""
    audit.append_to_system(session, audit.Entry(action=action, actor=actor, detail={"person": person_id, **detail},
                                                at=now))


def _alive(person: Person) -> None:
    if person.erased_at is not None:
        raise PersonErased(f"person {person.id} was erased at their request")


def add(session: Session, draft: Draft, actor: str, now: datetime) -> Person:
    """Register a person (recorded: which fields were filled in, not what they hold)."""
    errors = check(draft)
    if errors:
        raise FormInvalid(errors)
    person = Person(created_by=actor, created_at=now, updated_at=now, **_basic(draft))
    session.add(person)
    session.flush()
    personal = {name: value for name, value in _personal(draft).items() if value}
    if personal:
        session.add(PersonContact(person_id=person.id, **personal))
    filled = [name for name, value in _basic(draft).items() if value] + list(personal)
    _record(session, "person.added", actor, person.id, now, fields=filled)
    session.flush()
    return person


def change(session: Session, person: Person, draft: Draft, actor: str, now: datetime) -> Person:
    """Change a person; the record names the fields that changed, not their values before or after."""
    _alive(person)
    errors = check(draft)
    if errors:
        raise FormInvalid(errors)
    changed = []
    for name, value in _basic(draft).items():
        if getattr(person, name) != value:
            setattr(person, name, value)
            changed.append(name)
    personal = _personal(draft)
    contact = session.get(PersonContact, person.id)
    if personal and contact is None and any(personal.values()):
        contact = PersonContact(person_id=person.id, phone="", email="", address="", notes="")
        session.add(contact)
    if contact is not None:
        for name, value in personal.items():
            if getattr(contact, name) != value:
                setattr(contact, name, value)
                changed.append(name)
    if changed:
        person.updated_at = now
        _record(session, "person.changed", actor, person.id, now, fields=changed)
    session.flush()
    return person


def get(session: Session, person_id: int, lock: bool = False) -> Person:
    person = session.get(Person, person_id, with_for_update=lock)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person


def personal_data(session: Session, person: Person) -> PersonalData:
    """What the personal data row holds (nothing is recorded here: ``reveal`` is the reading)."""
    contact = session.get(PersonContact, person.id)
    if contact is None:
        return PersonalData("", "", "", "")
    return PersonalData(contact.phone, contact.email, contact.address, contact.notes)


def personal_fields(session: Session, person_ids: list[int]) -> dict[int, list[str]]:
    """Which personal fields each person has filled in — that there is a phone number, not which."""
    rows = session.execute(select(PersonContact).where(PersonContact.person_id.in_(person_ids))).scalars()
    return {row.person_id: [name for name in PERSONAL if getattr(row, name)] for row in rows}


def reveal(session: Session, person: Person, purpose: str, actor: str, now: datetime) -> PersonalData:
    """A person's personal data for ``purpose``; the reading is recorded (who, when, purpose, fields)."""
    _alive(person)
    if purpose not in PURPOSES:
        raise FormInvalid([{"field": "purpose", "message": "choose what you read them for"}])
    data = personal_data(session, person)
    _record(session, "person.viewed", actor, person.id, now, purpose=purpose, fields=data.filled())
    return data


def record_refusal(session: Session, person_id: int, actor: str, attempted: str, now: datetime) -> None:
    _record(session, "person.refused", actor, person_id, now, attempted=attempted)
    session.flush()


def views(session: Session, person_id: int) -> list[View]:
    """Who read the person's personal data, when and for what: newest first, from the trail itself."""
    query = (select(AuditRecord.at, AuditRecord.actor, AuditRecord.detail)
             .where(AuditRecord.action == "person.viewed", AuditRecord.chain == audit.SYSTEM_CHAIN,
                    AuditRecord.detail["person"].as_integer() == person_id)
             .order_by(AuditRecord.at.desc(), AuditRecord.id.desc()).limit(MOST_VIEWS))
    return [View(at, actor, str((detail or {}).get("purpose", "")), tuple((detail or {}).get("fields", ())))
            for at, actor, detail in session.execute(query)]


# -- where a person appears ----------------------------------------------------------------------


def _target_error(session: Session, principal: Principal, kind: str, target: str) -> str | None:
    """Why ``target`` cannot be linked by ``principal`` (None when it can): it must exist and be readable."""
    if kind in ("schedule", "remark") and (not (target.isascii() and target.isdigit()) or len(target) > 18):
        return "there is no such entry" if kind == "schedule" else "there is no such remark"
    if kind == "schedule":
        event = session.get(ScheduleEvent, int(target))
        if event is None or not schedule.entry_for(principal, event).shown:
            return "there is no such entry"
    elif kind == "remark":
        if session.get(Remark, int(target)) is None:
            return "there is no such remark"
    elif kind == "case":
        instance = session.get(Instance, target) if len(target) <= 36 else None
        if instance is None or not access.may_see_instance(session, principal, instance):
            return "there is no such case"
    else:
        return "link a schedule entry, a remark or a case"
    return None


def link(session: Session, principal: Principal, person: Person, kind: str, target: str, role: str,
         now: datetime) -> PersonLink:
    """Say where a person appears (recorded: the person's number and what they were linked to)."""
    _alive(person)
    target, role = target.strip(), role.strip()
    problem = _target_error(session, principal, kind, target)
    errors = [{"field": "target", "message": problem}] if problem else []
    if len(role) > 50:
        errors.append({"field": "role", "message": "a role is limited to 50 characters"})
    if not errors and session.execute(select(PersonLink.id).where(
            PersonLink.person_id == person.id, PersonLink.kind == kind, PersonLink.target == target)).first():
        errors.append({"field": "target", "message": "the person is linked to it already"})
    if errors:
        raise FormInvalid(errors)
    linked = PersonLink(person_id=person.id, kind=kind, target=target, role=role, created_by=principal.username,
                        created_at=now)
    session.add(linked)
    session.flush()
    _record(session, "person.linked", principal.username, person.id, now, kind=kind, target=target)
    return linked


def unlink(session: Session, person: Person, link_id: int, actor: str, now: datetime) -> None:
    _alive(person)
    found = session.get(PersonLink, link_id)
    if found is None or found.person_id != person.id:
        raise NotFound(f"person {person.id} has no link {link_id}")
    _record(session, "person.unlinked", actor, person.id, now, kind=found.kind, target=found.target)
    session.delete(found)
    session.flush()


def history(session: Session, principal: Principal, person: Person) -> list[HistoryItem]:
    """Where the person appears, newest first — each item only when ``principal`` may read it."""
    links = list(session.execute(select(PersonLink).where(PersonLink.person_id == person.id)).scalars())
    by_kind: dict[str, dict[str, PersonLink]] = {kind: {} for kind in LINK_KINDS}
    for found in links:
        by_kind.setdefault(found.kind, {})[found.target] = found
    items: list[HistoryItem] = []
    entry_ids = [int(t) for t in by_kind["schedule"] if t.isdigit()]
    for event in session.execute(select(ScheduleEvent).where(ScheduleEvent.id.in_(entry_ids))).scalars():
        if schedule.entry_for(principal, event).shown:
            found = by_kind["schedule"][str(event.id)]
            items.append(HistoryItem(found.id, "schedule", found.target, event.starts_at, event.title, event.place,
                                     found.role, cancelled=event.cancelled_at is not None))
    remark_ids = [int(t) for t in by_kind["remark"] if t.isdigit()]
    for remark in session.execute(select(Remark).where(Remark.id.in_(remark_ids))).scalars():
        found = by_kind["remark"][str(remark.id)]
        items.append(HistoryItem(found.id, "remark", found.target, remark.said_at, remark.occasion, remark.text,
                                 found.role))
    cases = select(Instance).where(Instance.id.in_(list(by_kind["case"])))
    for case in session.execute(access.visible_instances(cases, principal)).scalars():
        found = by_kind["case"][case.id]
        data = case.data or {}
        items.append(HistoryItem(found.id, "case", case.id, case.started_at, str(data.get("title") or ""),
                                 str(data.get("status") or ""), found.role, process_key=case.process_key))
    return sorted(items, key=lambda item: (item.at, item.link_id), reverse=True)


def _mentions(guest: str, person: Person) -> bool:
    """Whether a schedule entry's guest is written as this person: by name, or by their position — alone
    (상인회장) or after their organisation (수원상공회의소 회장), so that 회장 is not every 상인회장."""
    if person.name and len(person.name) >= 2 and person.name in guest:
        return True
    position = person.position.strip()
    if not position or not guest.strip().endswith(position):
        return False
    return guest.strip() == position or any(len(word) >= 2 and word in guest for word in person.organisation.split())


def candidates(session: Session, principal: Principal, person: Person, now: datetime) -> list[Candidate]:
    """What the person could be linked to: the kept schedules' entries of the last four months and the
    next one (those naming the person, or their position, among the guests first), the newest remarks,
    and the directives and pledges ``principal`` may read — none already linked."""
    linked = {(kind, target) for kind, target in session.execute(
        select(PersonLink.kind, PersonLink.target).where(PersonLink.person_id == person.id))}
    found: list[Candidate] = []
    events = (select(ScheduleEvent)
              .where(ScheduleEvent.owner.in_(kept_schedules(session)), ScheduleEvent.cancelled_at.is_(None),
                     ScheduleEvent.starts_at >= now - timedelta(days=120),
                     ScheduleEvent.starts_at < now + timedelta(days=31))
              .order_by(ScheduleEvent.starts_at.desc()).limit(300))
    for event in session.execute(events).scalars():
        if ("schedule", str(event.id)) in linked or not schedule.entry_for(principal, event).shown:
            continue
        mentions = any(_mentions(guest, person) for guest in event.guests)
        found.append(Candidate("schedule", str(event.id), event.starts_at, event.title, mentions))
    found.sort(key=lambda candidate: not candidate.mentions)  # stable: newest first within each
    for remark in session.execute(select(Remark).order_by(Remark.said_at.desc()).limit(100)).scalars():
        if ("remark", str(remark.id)) not in linked:
            found.append(Candidate("remark", str(remark.id), remark.said_at, remark.occasion + " · " + remark.text))
    cases = (select(Instance).where(Instance.process_key.in_(LINKED_PROCESSES))
             .order_by(Instance.started_at.desc()).limit(300))
    for case in session.execute(access.visible_instances(cases, principal)).scalars():
        title = str((case.data or {}).get("title") or "")
        if title and ("case", case.id) not in linked:
            found.append(Candidate("case", case.id, case.started_at, title))
    return found


# -- erasure on request ----------------------------------------------------------------------------


def erase(session: Session, person: Person, channel: str, actor: str, now: datetime) -> Person:
    """Erase a person at their request (개인정보 삭제 요청): their personal data and links deleted, who
    they are emptied; the row keeps when, by whom and how the request came. The record names the
    fields erased and how many links went, not what they held."""
    _alive(person)
    if channel not in CHANNELS:
        raise FormInvalid([{"field": "channel",
                            "message": "say how the request came: 전화, 방문, 서면, 전자우편 or 기타"}])
    data = personal_data(session, person)
    erased = [name for name in BASIC if getattr(person, name)] + data.filled()
    if session.get_bind().dialect.name == "sqlite":  # freed pages are overwritten, not left in the file
        session.execute(text("PRAGMA secure_delete = ON"))
    links = session.execute(select(func.count()).where(PersonLink.person_id == person.id)).scalar_one()
    session.execute(delete(PersonLink).where(PersonLink.person_id == person.id))
    session.execute(delete(PersonContact).where(PersonContact.person_id == person.id))
    person.name, person.kind, person.organisation, person.position, person.tags = None, None, "", "", []
    person.erased_at, person.erased_by, person.erasure_channel, person.updated_at = now, actor, channel, now
    session.flush()
    _record(session, "person.erased", actor, person.id, now, channel=channel, fields=erased, links=links)
    return person


# -- the register ---------------------------------------------------------------------------------


def search(session: Session, *, q: str = "", kind: str = "", tag: str = "", erased: bool = False,
           limit: int = PAGE, offset: int = 0) -> tuple[list[Person], int]:
    """People by name, organisation or position (any case), kind and topic, in name order; with
    ``erased`` the erased ones instead, newest erasure first. Returns a page and how many match."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500")
    query = select(Person)
    if erased:
        query = query.where(Person.erased_at.is_not(None)).order_by(Person.erased_at.desc(), Person.id.desc())
    else:
        query = query.where(Person.erased_at.is_(None)).order_by(Person.name, Person.id)
        words = q.strip()
        if words:
            query = query.where(or_(Person.name.icontains(words, autoescape=True),
                                    Person.organisation.icontains(words, autoescape=True),
                                    Person.position.icontains(words, autoescape=True)))
        if kind:
            query = query.where(Person.kind == kind)
    wanted = tag.strip().lstrip("#")
    if wanted and not erased:  # topics are a short JSON list; both databases read it the same way here
        every = [person for person in session.execute(query).scalars() if wanted in (person.tags or [])]
        return every[offset:offset + limit], len(every)
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    return list(session.execute(query.limit(limit).offset(offset)).scalars()), int(total)


def topics(session: Session, most: int = 30) -> list[tuple[str, int]]:
    """The topics people are tagged with, most used first."""
    counts: dict[str, int] = {}
    for tags in session.execute(select(Person.tags).where(Person.erased_at.is_(None))).scalars():
        for tag in tags or ():
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:most]
