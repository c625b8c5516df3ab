"""Telling people: in-app notifications per user, and e-mail through an outbox the worker sends.

The outbox row is written in the same transaction as whatever caused it, so an e-mail is
sent if and only if that change committed; the worker delivers it by SMTP when mail is
configured and retries with backoff when the server refuses.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.models import Absence, Department, Instance, Notification, OpenTask, OutgoingMail, User

MAIL_ATTEMPTS = 5
# A task that announces its arrival, unless its BPMN titles it (notify_title, notify_title_en), by language.
ARRIVAL_TITLES = {"ko": "새 할 일: {task}", "en": "New task: {task}"}
ARRIVAL_TITLE = ARRIVAL_TITLES["ko"]


def members_of(session: Session, group: str) -> list[str]:
    """Users in ``group``: listed in it, or working in the department (or bureau) of that name."""
    departments = {d.code: d for d in session.execute(select(Department)).scalars()}

    def belongs(user: User) -> bool:
        if group in user.groups:
            return True
        code = user.department_code
        while code is not None and code in departments:
            if departments[code].name == group:
                return True
            code = departments[code].parent_code
        return False

    users = session.execute(select(User).where(User.active.is_(True))).scalars()
    return sorted(u.username for u in users if belongs(u))


def head_of(session: Session, department: str, above: bool = False) -> str | None:
    """The highest-ranked person of the department named ``department`` (or of the bureau above it)."""
    found = session.execute(select(Department).where(Department.name == department)).scalar_one_or_none()
    if found is not None and above:
        found = session.get(Department, found.parent_code) if found.parent_code else None
    if found is None:
        return None
    head = session.execute(
        select(User.username).where(User.department_code == found.code, User.active.is_(True))
        .order_by(User.rank.desc(), User.username).limit(1)
    ).scalar_one_or_none()
    return head


def notify_people(
    session: Session,
    *,
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    title: str,
    body: str = "",
    link: str | None = None,
    instance_id: str | None = None,
    now: datetime | None = None,
    sparing: Iterable[str] = (),
    roles: Iterable[str] = (),
    translations: Mapping[str, tuple[str, str]] | None = None,
) -> int:
    """Notify every named user and every member of the named groups, once each, in the app and by
    mail (when they have an address), except those ``sparing`` names and, when ``roles`` are given,
    those who have none of them; returns how many. Each is told in their own language when
    ``translations`` has it (language → title and body), else in ``title`` and ``body``."""
    recipients = set(users)
    for group in groups:
        recipients.update(members_of(session, group))
    recipients.difference_update(sparing)
    if not recipients:
        return 0
    people = {u.username: u for u in session.execute(select(User).where(User.username.in_(recipients))).scalars()}
    wanted = set(roles)
    if wanted:
        people = {name: user for name, user in people.items() if wanted.intersection(user.roles)}
    at = now or datetime.now(UTC)
    for username in sorted(people):
        said, text = (translations or {}).get(people[username].locale) or (title, body)
        session.add(Notification(username=username, title=said[:500], body=text, link=link,
                                 instance_id=instance_id, created_at=at))
        if people[username].email:
            session.add(OutgoingMail(recipient=people[username].email, subject=said[:500],
                                     body=text + (f"\n\n{link}" if link else ""), created_at=at, due_at=at))
    return len(people)


def deputies_of(session: Session, usernames: Iterable[str], now: datetime) -> list[str]:
    """Who stands in (대결) at ``now`` for any of ``usernames`` who is away."""
    names = set(usernames)
    if not names:
        return []
    return sorted(set(session.execute(
        select(Absence.deputy).where(Absence.username.in_(names), Absence.starts_at <= now, Absence.ends_at > now)
    ).scalars()))


def unread_count(session: Session, username: str) -> int:
    return int(session.execute(
        select(func.count()).where(Notification.username == username, Notification.read_at.is_(None))
    ).scalar_one())


def recent(session: Session, username: str, limit: int = 50) -> list[Notification]:
    return list(session.execute(
        select(Notification).where(Notification.username == username)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    ).scalars())


def processes_of(session: Session, notes: Iterable[Notification]) -> dict[str, str]:
    """The process of each case the notifications are about: instance id → process key."""
    ids = {note.instance_id for note in notes if note.instance_id}
    if not ids:
        return {}
    return dict(session.execute(select(Instance.id, Instance.process_key).where(Instance.id.in_(ids))).all())


TASK_LINK = "/tasks/"


def current_link(notes: Iterable[Notification], open_tasks: set[str]) -> dict[int, str]:
    """Where each notification leads now: a task that is done leads to its case instead."""
    links = {}
    for note in notes:
        if not note.link:
            continue
        task_id = note.link.removeprefix(TASK_LINK) if note.link.startswith(TASK_LINK) else None
        done = task_id is not None and task_id not in open_tasks
        links[note.id] = f"/instances/{note.instance_id}" if done and note.instance_id else note.link
    return links


def open_task_ids(session: Session, notes: Iterable[Notification]) -> set[str]:
    """Which of the tasks the notifications link to still wait for someone."""
    ids = {note.link.removeprefix(TASK_LINK) for note in notes if note.link and note.link.startswith(TASK_LINK)}
    if not ids:
        return set()
    return set(session.execute(select(OpenTask.id).where(OpenTask.id.in_(ids))).scalars())


def mark_read(session: Session, username: str, notification_id: int, now: datetime) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.username != username:
        raise NotFound(f"no notification {notification_id}")
    notification.read_at = notification.read_at or now
    return notification


def mark_all_read(session: Session, username: str, now: datetime) -> None:
    unread = (Notification.username == username) & Notification.read_at.is_(None)
    session.execute(update(Notification).where(unread).values(read_at=now))


def send_mail(session: Session, smtp_host: str, smtp_port: int, sender: str, now: datetime,
              username: str | None = None, password: str | None = None, starttls: bool = False,
              limit: int = 50) -> int:
    """Send due e-mail from the outbox; returns how many went out."""
    due = list(session.execute(
        select(OutgoingMail)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.due_at <= now, OutgoingMail.attempts < MAIL_ATTEMPTS)
        .order_by(OutgoingMail.due_at).limit(limit).with_for_update(skip_locked=True)
    ).scalars())
    if not due:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(smtp_host, smtp_port, timeout=10) as server:
            if starttls:
                server.starttls()
            if username:
                server.login(username, password or "")
            for mail in due:
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = sender, mail.recipient, mail.subject
                message.set_content(mail.body)
                try:
                    server.send_message(message)
                    mail.sent_at = now
                    sent += 1
                except smtplib.SMTPException as exc:
                    _postpone(mail, now, str(exc))
    except (OSError, smtplib.SMTPException) as exc:
        for mail in due:
            if mail.sent_at is None:
                _postpone(mail, now, str(exc))
    return sent


def _postpone(mail: OutgoingMail, now: datetime, error: str) -> None:
    mail.attempts += 1
    mail.last_error = error[:2000]
    mail.due_at = now + timedelta(minutes=2 ** mail.attempts)
