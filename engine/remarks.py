"""Remarks (말씀): what the mayor said at a meeting, in a speech or on a visit, kept word for word
with its day, occasion and topics — recorded by those who keep the speaker's schedule (the
비서실), read and searched by everyone who works here, linked to the schedule entry it was said at
and to the directives it produced (each such directive carries ``source_remark`` in its data).

Every change is a record on the system's audit chain; the rules are ``engine.access``'s and the
changes go through ``engine.commands``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine import audit
from engine.errors import FormInvalid, InvalidInput, NotFound
from engine.models import Instance, Remark, ScheduleEvent, User

KINDS = ("회의", "연설", "현장", "면담", "행사", "기타")
TEXT_LIMIT = 20_000
MOST_TAGS = 10
PAGE = 50


@dataclass(frozen=True)
class Draft:
    speaker: str
    said_at: datetime | None
    kind: str
    occasion: str
    text: str
    tags: tuple[str, ...] = ()
    schedule_entry_id: int | None = None


def check(session: Session, draft: Draft) -> list[dict[str, str]]:
    """Every field of ``draft`` that is wrong, named."""
    errors: list[dict[str, str]] = []

    def wrong(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    speaker = session.get(User, draft.speaker)
    if speaker is None or not speaker.active:
        wrong("speaker", "there is no such person")
    if draft.said_at is None:
        wrong("said_at", "give a date and time")
    elif draft.said_at.tzinfo is None or draft.said_at.utcoffset() is None:
        wrong("said_at", "give the time with its offset, e.g. +09:00")
    if draft.kind not in KINDS:
        wrong("kind", "choose 회의, 연설, 현장, 면담, 행사 or 기타")
    if not draft.occasion.strip():
        wrong("occasion", "say where it was said")
    elif len(draft.occasion) > 200:
        wrong("occasion", "an occasion is limited to 200 characters")
    if not draft.text.strip():
        wrong("text", "write down what was said")
    elif len(draft.text) > TEXT_LIMIT:
        wrong("text", f"a remark is limited to {TEXT_LIMIT:,} characters")
    if len(draft.tags) > MOST_TAGS or any(not tag.strip() or len(tag) > 30 for tag in draft.tags):
        wrong("tags", f"at most {MOST_TAGS} topics, each in at most 30 characters")
    if draft.schedule_entry_id is not None:
        entry = session.get(ScheduleEvent, draft.schedule_entry_id)
        if entry is None or entry.owner != draft.speaker:
            wrong("schedule_entry_id", "that is not an entry of the speaker's schedule")
    return errors


def _fields(draft: Draft) -> dict[str, Any]:
    return {"speaker": draft.speaker, "said_at": draft.said_at, "kind": draft.kind,
            "occasion": draft.occasion.strip(), "text": draft.text.strip(),
            "tags": list(dict.fromkeys(tag.strip().lstrip("#") for tag in draft.tags)),
            "schedule_entry_id": draft.schedule_entry_id}


def _detail(remark: Remark) -> dict[str, Any]:
    return {"id": remark.id, "speaker": remark.speaker, "said_at": audit.timestamp(remark.said_at),
            "kind": remark.kind, "occasion": remark.occasion, "tags": list(remark.tags), "text": remark.text,
            "schedule_entry_id": remark.schedule_entry_id}


def add(session: Session, draft: Draft, actor: str, now: datetime) -> Remark:
    errors = check(session, draft)
    if errors:
        raise FormInvalid(errors)
    remark = Remark(created_by=actor, created_at=now, updated_at=now, **_fields(draft))
    session.add(remark)
    session.flush()
    audit.append_to_system(session, audit.Entry(action="remark.added", actor=actor, detail=_detail(remark), at=now))
    return remark


def change(session: Session, remark: Remark, draft: Draft, actor: str, now: datetime) -> Remark:
    """Correct a remark (its speaker stays); the record keeps what it said before."""
    if draft.speaker != remark.speaker:
        raise InvalidInput("a remark stays with its speaker")
    errors = check(session, draft)
    if errors:
        raise FormInvalid(errors)
    was = _detail(remark)
    for name, value in _fields(draft).items():
        setattr(remark, name, value)
    remark.updated_at = now
    session.flush()
    audit.append_to_system(session, audit.Entry(action="remark.changed", actor=actor,
                                                detail=_detail(remark) | {"was": was}, at=now))
    return remark


def get(session: Session, remark_id: int) -> Remark:
    remark = session.get(Remark, remark_id)
    if remark is None:
        raise NotFound(f"no remark {remark_id}")
    return remark


def search(session: Session, *, q: str = "", tag: str = "", speaker: str = "", since: datetime | None = None,
           until: datetime | None = None, limit: int = PAGE, before_id: int | None = None) -> list[Remark]:
    """Remarks newest first: ``q`` in the text or occasion (any case), a topic, a speaker, a time range;
    a page ends after ``limit``, the next one starts ``before_id``."""
    if not 1 <= limit <= 200:
        raise InvalidInput("limit must be between 1 and 200")
    query = select(Remark)
    if q.strip():
        query = query.where(or_(Remark.text.icontains(q.strip(), autoescape=True),
                                Remark.occasion.icontains(q.strip(), autoescape=True)))
    if speaker:
        query = query.where(Remark.speaker == speaker)
    if since is not None:
        query = query.where(Remark.said_at >= since)
    if until is not None:
        query = query.where(Remark.said_at < until)
    if before_id is not None:
        query = query.where(Remark.id < before_id)
    query = query.order_by(Remark.said_at.desc(), Remark.id.desc())
    wanted = tag.strip().lstrip("#")
    found = list(session.execute(query if wanted else query.limit(limit)).scalars())
    if wanted:  # topics are a short JSON list; both databases read it the same way here
        found = [remark for remark in found if wanted in remark.tags]
    return found[:limit]


def topics(session: Session, most: int = 30) -> list[tuple[str, int]]:
    """The topics remarks are tagged with, most used first."""
    counts: dict[str, int] = {}
    for tags in session.execute(select(Remark.tags)).scalars():
        for tag in tags or ():
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:most]


def directives_of(session: Session, remark_id: int) -> list[Instance]:
    """The directives a remark produced: those whose data names it as their source."""
    source = Instance.data["source_remark"]["id"].as_integer()
    return list(session.execute(select(Instance).where(Instance.process_key == "directive", source == remark_id)
                                .order_by(Instance.started_at)).scalars())


def at_entry(session: Session, entry_id: int) -> list[Remark]:
    return list(session.execute(select(Remark).where(Remark.schedule_entry_id == entry_id)
                                .order_by(Remark.said_at, Remark.id)).scalars())
