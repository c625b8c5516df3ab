"""Who may do what: every authorization rule of the engine, each stated once.

Commands (``engine.commands``) take their lock, then ask these rules, then act; reading
functions use the query forms of the same rules. A refusal is a ``NotAllowed`` that says
which rule refused.

Visibility is by participation. Someone may read an instance when they take part in it
(``Participant`` rows: its initiator, present and past assignees and candidates, deputies
who acted, those it was shared with, the groups its process names as overseers — the mayor's
office and the planning office for directives and pledges), when they head the department or
bureau of someone who takes part, or when they are an auditor or an admin. A refused attempt
never makes anyone a participant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Select, Table, and_, exists, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.errors import NotAllowed, PersonalDataRefused
from engine.identity import Principal
from engine.models import Department, Instance, OpenTask, Participant, Record, User

STAFF = ("staff", "designer", "admin")  # the roles that change things; auditors only read
READERS = ("auditor", "admin")  # the roles that read every instance


# -- tasks -----------------------------------------------------------------------------------


def offered_to(person: Principal, task: OpenTask) -> bool:
    """A task is offered to its claimant if claimed, else to its assignee, else to its candidates."""
    if task.claimed_by:
        return person.username == task.claimed_by
    if task.assignee:
        return person.username == task.assignee
    return person.username in task.candidate_users or bool(person.groups.intersection(task.candidate_groups))


INITIATOR_LANE = "process initiator"  # spiff-arena's lane for whoever started the case


def is_initiator_lane(lane: str | None) -> bool:
    """Whether a lane stands for the person who started the case rather than for a group."""
    return " ".join((lane or "").split()).casefold() == INITIATOR_LANE


def designed_for(person: Principal, extensions: Mapping[str, Any], lane: str | None) -> bool:
    """Whether a task, as its BPMN is drawn, would be offered to ``person``: its assignee, candidate
    users or groups when written out, else its lane. One given as an expression (``${department}``)
    is known only when the task opens; it counts as yes here and is decided then."""
    named = {key: str(extensions.get(key) or "").strip() for key in ("assignee", "candidateUsers", "candidateGroups")}
    if any(value.startswith(("${", "#{")) for value in named.values()):
        return True
    users = {name.strip() for key in ("assignee", "candidateUsers") for name in named[key].split(",") if name.strip()}
    groups = {name.strip() for name in named["candidateGroups"].split(",") if name.strip()}
    if not (users or groups) and is_initiator_lane(lane):
        return True  # whoever starts the case
    if not (users or groups) and lane:
        groups = {lane}
    return person.username in users or bool(person.groups & groups) or not (users or groups)


def acting_for(principal: Principal, task: OpenTask) -> str | None:
    """Whom ``principal`` would act for on ``task``: themselves, an absent colleague (대결), or nobody."""
    if not principal.has_role(*STAFF):
        return None
    if offered_to(principal, task):
        return principal.username
    for absent in principal.covering:
        if offered_to(absent, task):
            return absent.username
    return None


def may_see_task(principal: Principal, task: OpenTask) -> bool:
    return principal.has_role(*READERS) or acting_for(principal, task) is not None


def may_override(principal: Principal) -> bool:
    """An administrator may act on a task not offered to them, explicitly and on the record."""
    return principal.has_role("admin")


def require_staff(principal: Principal, attempted: str) -> None:
    if not principal.has_role(*STAFF):
        raise NotAllowed(f"you may not {attempted}: auditors read and change nothing")


def require_admin(principal: Principal, attempted: str) -> None:
    if not principal.has_role("admin"):
        raise NotAllowed(f"only an admin may {attempted}")


def require_auditor(principal: Principal, attempted: str) -> None:
    """The whole trail — searching it, reading a case's record of who did what, exporting it — is
    for auditors and admins; everyone else reads the cases they take part in."""
    if not principal.has_role(*READERS):
        raise NotAllowed(f"only an auditor or an admin may {attempted}")


def require_designer(principal: Principal, attempted: str = "deploy processes") -> None:
    """Processes are the designers' (and admins'): deploying them, moving running cases to a new version."""
    if not principal.has_role("designer", "admin"):
        raise NotAllowed(f"only a process designer or an admin may {attempted}")


def decided(instance: Instance) -> bool:
    """A case whose data holds its ``result`` has been decided (an approved document still waiting
    for its 후결): what follows is after the fact."""
    return bool((instance.data or {}).get("result"))


def may_cancel(principal: Principal, instance: Instance) -> bool:
    """Whoever started an instance may cancel it while it has not ended and is not decided; an admin
    may cancel any instance that has not ended."""
    if instance.status not in ("running", "error"):
        return False
    return principal.has_role("admin") or (instance.initiator == principal.username and not decided(instance))


def require_may_cancel(principal: Principal, instance: Instance) -> None:
    if may_cancel(principal, instance) or instance.status not in ("running", "error"):
        return
    if instance.initiator == principal.username:
        raise NotAllowed("this case has been decided; only an admin may cancel it now")
    raise NotAllowed("only whoever started it, or an admin, may cancel an instance")


def keeps_schedule_of(principal: Principal, owner: str) -> bool:
    """Who keeps a person's schedule (단체장 일정): that person, those in the group ``schedule:<owner>``
    (수행비서, 비서실), and admins."""
    return principal.has_role(*STAFF) and (
        principal.username == owner or f"schedule:{owner}" in principal.groups or principal.has_role("admin"))


def reads_schedule_entry(principal: Principal, owner: str, private: bool, attendees: Iterable[str]) -> bool:
    """Everyone who works here reads the public entries of anyone's schedule; a private one is read by
    those who keep that schedule and those it names as attendees — others see only that the time is
    taken."""
    return not private or keeps_schedule_of(principal, owner) or principal.username in set(attendees)


def records_remarks_of(principal: Principal, speaker: str) -> bool:
    """A person's remarks (말씀) are written down by those who keep their schedule — the 비서실 —
    by them, and by admins; everyone who works here reads them."""
    return keeps_schedule_of(principal, speaker)


def require_records_remarks_of(principal: Principal, speaker: str) -> None:
    if not records_remarks_of(principal, speaker):
        raise NotAllowed("only the speaker, those who keep their schedule, or an admin may record their remarks")


def require_keeps_schedule_of(principal: Principal, owner: str) -> None:
    if not keeps_schedule_of(principal, owner):
        raise NotAllowed("only the person, those who keep their schedule, or an admin may change a schedule")


def require_may_send(principal: Principal, message: str, senders: Iterable[str]) -> None:
    """Messages come only from those their process allows (``role:``, ``group:`` or ``user:`` entries)."""
    allowed = set(senders)
    if principal.has_role("admin") or f"user:{principal.username}" in allowed:
        return
    if any(f"role:{r}" in allowed for r in principal.roles) or any(f"group:{g}" in allowed for g in principal.groups):
        return
    raise NotAllowed(f"you may not send the message '{message}': its process does not accept it from you")


# -- external tasks ----------------------------------------------------------------------------

SERVICE = "service"  # the role of a system outside cityflow that does external tasks
ALL_TOPICS = "topic:*"


def works_on_topic(principal: Principal, topic: str) -> bool:
    """External tasks — service tasks done by systems outside cityflow (accounting, SMS) — are fetched,
    completed, failed and unlocked only by service accounts (role ``service``) given their topic: the
    group ``topic:<name>``, or ``topic:*`` for every topic. People, admins included, do not do them."""
    return principal.has_role(SERVICE) and bool({f"topic:{topic}", ALL_TOPICS} & principal.groups)


def require_works_on_topic(principal: Principal, topic: str) -> None:
    if not works_on_topic(principal, topic):
        raise NotAllowed(f"you may not work on external tasks of the topic '{topic}': that needs the role "
                         f"{SERVICE} and the group topic:{topic}")


def external_topics_read_by(principal: Principal) -> set[str] | None:
    """The topics whose external tasks ``principal`` may list: every one (None) for auditors, admins and a
    service account given ``topic:*``; a service account's own topics; none for anyone else."""
    if principal.has_role(*READERS) or (principal.has_role(SERVICE) and ALL_TOPICS in principal.groups):
        return None
    if not principal.has_role(SERVICE):
        return set()
    return {group.removeprefix("topic:") for group in principal.groups if group.startswith("topic:")}


# -- instances -------------------------------------------------------------------------------


def people(principal: Principal) -> tuple[set[str], set[str]]:
    """The names someone acts under: themselves and whoever they stand in for, with their groups."""
    users = {principal.username} | {p.username for p in principal.covering}
    groups = set(principal.groups).union(*(p.groups for p in principal.covering))
    return users, groups


def _participation(principal: Principal, instance_id: Any) -> Any:
    """The SQL condition "``principal`` takes part in the instance ``instance_id``, or heads someone who does"."""
    users, groups = people(principal)
    takes_part = [
        exists().where(Participant.instance_id == instance_id, Participant.kind == "user",
                       Participant.name.in_(users)),
    ]
    if groups:
        takes_part.append(exists().where(Participant.instance_id == instance_id, Participant.kind == "group",
                                         Participant.name.in_(groups)))
    if principal.heads:
        members = select(User.username).where(User.department_code.in_(principal.heads))
        units = select(Department.name).where(Department.code.in_(principal.heads))
        takes_part.append(exists().where(Participant.instance_id == instance_id, or_(
            and_(Participant.kind == "user", Participant.name.in_(members)),
            and_(Participant.kind == "group", Participant.name.in_(units)),
        )))
    return or_(*takes_part)


def may_see_instance(session: Session, principal: Principal, instance: Instance) -> bool:
    if principal.has_role(*READERS):
        return True
    found = session.execute(select(Instance.id).where(Instance.id == instance.id,
                                                      _participation(principal, Instance.id))).first()
    return found is not None


def require_may_see(session: Session, principal: Principal, instance: Instance) -> None:
    if not may_see_instance(session, principal, instance):
        raise NotAllowed("you take no part in this instance")


def require_may_take_part(session: Session, principal: Principal, instance: Instance, attempted: str) -> None:
    """Commenting, attaching a file, sharing: staff who may read the instance."""
    require_staff(principal, attempted)
    require_may_see(session, principal, instance)


def readable(principal: Principal, instance_id: Any) -> Any:
    """The SQL condition "``principal`` may read the instance ``instance_id``" (a column)."""
    return true() if principal.has_role(*READERS) else _participation(principal, instance_id)


def visible_instances(query: Select[Any], principal: Principal) -> Select[Any]:
    """``query`` over instances narrowed to those ``principal`` may read."""
    if principal.has_role(*READERS):
        return query
    return query.where(_participation(principal, Instance.id))


# -- records (기록물) ---------------------------------------------------------------------------


def reads_record(principal: Principal, disclosure: Any, instance_id: Any) -> Any:
    """The SQL condition "``principal`` may read the record" (its content and title). A 공개 record is
    read by everyone who works here; a 부분공개 or 비공개 one — the whole document, its closed parts not
    yet told apart — only by those who took part in the document (drafter, approvers, deputies, those
    it was shared with), the heads of their departments and bureaus (their line), auditors and admins."""
    if principal.has_role(*READERS):
        return true()
    return or_(disclosure == "공개", _participation(principal, instance_id))


def may_read_record(session: Session, principal: Principal, record: Record) -> bool:
    found = session.execute(select(Record.id).where(
        Record.id == record.id, reads_record(principal, Record.disclosure, Record.instance_id))).first()
    return found is not None


# -- people the mayor meets (인물) ---------------------------------------------------------------

PERSONS_GROUP = "인물관리"  # those who keep the register of people the mayor meets


def keeps_persons(principal: Principal, kept_schedules: Iterable[str]) -> bool:
    """People's personal data in the 인물 register — contacts and notes — are for those who need them to
    arrange the meetings: the group 인물관리, the people whose schedules others keep (the mayor) and
    those who keep those schedules (``schedule:<owner>``, the 비서실). They register people, change them,
    link them, erase them on request, and read their personal data, each reading for a purpose chosen
    and recorded. Not auditors or admins as such: auditors read the record of who read what, not the
    data; an admin who needs them is put in the group, and that change is on record."""
    if not principal.has_role(*STAFF):
        return False
    owners = set(kept_schedules)
    return (PERSONS_GROUP in principal.groups or principal.username in owners
            or any(f"schedule:{owner}" in principal.groups for owner in owners))


def require_keeps_persons(principal: Principal, kept_schedules: Iterable[str], attempted: str) -> None:
    if not keeps_persons(principal, kept_schedules):
        raise PersonalDataRefused(f"you may not {attempted}: personal data are for the group {PERSONS_GROUP}, "
                                  "the mayor and the mayor's office (비서실)")


def reads_person_views(principal: Principal, kept_schedules: Iterable[str]) -> bool:
    """Who read a person's personal data, when and for what: those who keep the register, and auditors
    and admins (who read the trail, not the data)."""
    return principal.has_role(*READERS) or keeps_persons(principal, kept_schedules)


# -- recording participation -----------------------------------------------------------------


_PARTICIPANTS = cast(Table, Participant.__table__)


def add_participants(session: Session, instance_id: str, people: Iterable[tuple[str, str, str]]) -> None:
    """Record ``(kind, name, relation)`` — a user or group, and how they came to take part — in one
    statement; whoever takes part already stays as they were."""
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for kind, name, relation in people:
        if name and not name.startswith("system:"):
            rows.setdefault((kind, name), {"instance_id": instance_id, "kind": kind, "name": name,
                                           "relation": relation})
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # A Core statement with its rows as parameters: compiled once, and no flush of the session.
    session.connection().execute(insert(_PARTICIPANTS).on_conflict_do_nothing(), list(rows.values()))


def participants(session: Session, instance_id: str) -> list[Participant]:
    return list(session.execute(
        select(Participant).where(Participant.instance_id == instance_id).order_by(Participant.kind, Participant.name)
    ).scalars())
