"""People: users and their organisation, passwords, API tokens, browser sessions, deputies.

Passwords are hashed with argon2. Tokens are 32 random bytes, shown once and
stored as their sha256. A browser session is a token of kind ``web`` with its own
CSRF token. Repeated failed logins lock the account for a while; every refused
login is a record in the system audit chain.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Select, bindparam, exists, literal, select, update
from sqlalchemy.orm import Session, aliased

from engine import audit
from engine.errors import InvalidInput, NotAuthenticated, NotFound, UserNotFound
from engine.models import Absence, ApiToken, Department, User

# ``service``: a system outside cityflow (accounting, SMS) that does external tasks of the topics it is given
ROLES = ("staff", "designer", "auditor", "admin", "service")
WEB_SESSION_FOR = timedelta(hours=12)
MAX_DEPARTMENT_DEPTH = 20  # levels of bureaus above a department read at most (a cycle in the data ends there)

_hasher = PasswordHasher()
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user with roles and groups, and the absent colleagues they stand in for."""

    username: str
    display_name: str
    roles: frozenset[str]
    groups: frozenset[str]
    department: str | None = None
    position: str | None = None
    rank: int = 0
    locale: str = "ko"
    covering: tuple[Principal, ...] = field(default=())
    heads: frozenset[str] = frozenset()  # codes of the department they head and the units under it

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InvalidInput("a password needs at least 8 characters")
    return _hasher.hash(password)


def add_user(
    session: Session,
    username: str,
    password: str,
    *,
    actor: str,
    display_name: str | None = None,
    roles: Iterable[str] = ("staff",),
    groups: Iterable[str] = (),
    department: str | None = None,
    position: str | None = None,
    rank: int = 0,
    email: str | None = None,
    locale: str = "ko",
) -> User:
    """Create a user; recorded in the system audit chain."""
    if not username or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise InvalidInput(f"'{username}' is not a usable username (letters, digits, . - _)")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise InvalidInput(f"unknown role(s): {', '.join(sorted(unknown))}; roles are {', '.join(ROLES)}")
    if session.get(User, username) is not None:
        raise InvalidInput(f"user '{username}' exists already")
    user = User(
        username=username,
        display_name=display_name or username,
        department_code=department,
        position=position,
        rank=rank,
        roles=sorted(set(roles) or {"staff"}),
        groups=sorted(set(groups)),
        email=email,
        locale=locale,
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
    )
    session.add(user)
    audit.append_to_system(
        session,
        audit.Entry(
            action="user.added",
            actor=actor,
            detail={"username": username, "roles": user.roles, "groups": user.groups, "department": department},
        ),
    )
    return user


def get_user(session: Session, username: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise UserNotFound(f"no user '{username}'")
    return user


def authenticate(session: Session, username: str, password: str, now: datetime | None = None) -> User:
    """The user whose password this is. An unknown name and a wrong password are answered alike,
    after the same hashing; each refusal is recorded. Guessing is slowed where logins come in (the
    adapters' throttle counts failures by name and address); no account is ever locked, so nobody
    can lock another out."""
    user = session.get(User, username)
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        _refuse(session, username, "unknown or inactive user")
        raise NotAuthenticated("wrong username or password", recorded=True)
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        _refuse(session, username, f"wrong password ({user.failed_logins} in a row)")
        raise NotAuthenticated("wrong username or password", recorded=True)
    if user.failed_logins or user.locked_until:  # left from the time accounts were locked
        user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _refuse(session: Session, username: str, reason: str) -> None:
    audit.append_to_system(
        session, audit.Entry(action="login.refused", actor=username[:200] or "(empty)", detail={"reason": reason})
    )


# -- tokens and sessions ---------------------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, username: str, *, kind: str = "api", now: datetime | None = None
) -> tuple[str, ApiToken]:
    """A new opaque token for ``username`` (shown once); web sessions expire, API tokens until revoked."""
    get_user(session, username)
    token = secrets.token_urlsafe(32)
    now = _now(now)
    row = ApiToken(
        token_hash=_digest(token),
        username=username,
        kind=kind,
        csrf_token=secrets.token_urlsafe(32) if kind == "web" else None,
        created_at=now,
        expires_at=now + WEB_SESSION_FOR if kind == "web" else None,
    )
    session.add(row)
    return token, row


# Every request asks who it comes from: these statements are built once, not on each request
# (building a recursive query costs more than running it).
_TOKEN_AND_OWNER = (  # the token, its user, and whether they stand in for anyone now, in one read
    select(ApiToken, User, exists().where(
        Absence.deputy == User.username, Absence.starts_at <= bindparam("now"), Absence.ends_at > bindparam("now"),
    ).label("covers"))
    .outerjoin(User, User.username == ApiToken.username)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def token_owner(session: Session, token: str, kind: str, now: datetime | None = None) -> tuple[User, ApiToken]:
    """The user a live token of ``kind`` belongs to."""
    user, row, _covers = _token_read(session, token, kind, _now(now))
    return user, row


def caller(session: Session, token: str, kind: str, now: datetime | None = None) -> tuple[Principal, ApiToken]:
    """Who sends a request with a live token of ``kind``, as authorization sees them: every request
    asks, so the colleagues they stand in for are looked for only when the token's read says there are."""
    now = _now(now)
    user, row, covers = _token_read(session, token, kind, now)
    return principal(session, user, now, covers_anyone=covers), row


def _token_read(session: Session, token: str, kind: str, now: datetime) -> tuple[User, ApiToken, bool]:
    found = session.execute(_TOKEN_AND_OWNER, {"token_hash": _digest(token), "now": now}).one_or_none()
    row, user, covers = found if found is not None else (None, None, False)
    expires = row.expires_at if row is not None else None
    if row is None or row.kind != kind or row.revoked_at is not None or (expires is not None and expires <= now):
        raise NotAuthenticated("the token is unknown, expired or revoked")
    if user is None or not user.active:
        raise NotAuthenticated("the token's user is no longer active")
    return user, row, bool(covers)


def revoke_token(session: Session, token: str, now: datetime | None = None) -> None:
    session.execute(
        update(ApiToken).where(ApiToken.token_hash == _digest(token)).values(revoked_at=_now(now))
    )


# -- who someone is, for authorization ------------------------------------------------------


_COVERED_FOR = (  # whose absence a deputy covers now
    select(User).join(Absence, Absence.username == User.username)
    .where(Absence.deputy == bindparam("deputy"), Absence.starts_at <= bindparam("now"),
           Absence.ends_at > bindparam("now"))
)


def principal(session: Session, user: User, now: datetime | None = None, *, covers_anyone: bool = True) -> Principal:
    """The user as authorization sees them, with the colleagues whose absence they cover today
    (``covers_anyone=False``: the caller has just read that they cover nobody)."""
    now = _now(now)
    covering = tuple(
        _principal(session, absent)
        for absent in session.execute(_COVERED_FOR, {"deputy": user.username, "now": now}).scalars()
    ) if covers_anyone else ()
    return _principal(session, user, covering)


def _principal(session: Session, user: User, covering: tuple[Principal, ...] = ()) -> Principal:
    groups = set(user.groups)
    above, head = _place_of(session, user.department_code)  # a department's staff belong to it and to
    groups.update(name for _code, name in above)            # the bureaus above it
    return Principal(
        heads=_headed_units(session, user, head),
        username=user.username,
        display_name=user.display_name,
        roles=frozenset(user.roles),
        groups=frozenset(groups),
        department=above[0][1] if above else None,
        position=user.position,
        rank=user.rank,
        locale=user.locale,
        covering=covering,
    )


def _headed_units(session: Session, user: User, head: str | None) -> frozenset[str]:
    """The department someone heads (they rank highest there, ``head``) with every unit under it; else nothing."""
    code = user.department_code
    if code is None or not user.active or head != user.username:
        return frozenset()
    return frozenset(session.execute(_UNITS_UNDER, {"code": code}).scalars())


def _units_under() -> Any:
    below = select(Department.code).where(Department.code == bindparam("code")).cte("below", recursive=True)
    below = below.union(select(Department.code).where(Department.parent_code == below.c.code))
    return select(below.c.code)


_UNITS_UNDER = _units_under()  # a department and every unit under it


def _place_of(session: Session, code: str | None) -> tuple[list[tuple[str, str]], str | None]:
    """Where in the organisation department ``code`` is, in one read: (code, name) of it and of each
    department above it, nearest first; and its head, the active member of highest rank."""
    if code is None:
        return [], None
    rows = session.execute(_PLACE, {"code": code}).all()
    if not rows:  # a department code nobody defined: no groups from it, and nobody heads it here
        return [], session.execute(_HEAD, {"code": code}).scalar_one_or_none()
    return [(row.code, row.name) for row in rows], rows[0].head


def _place() -> tuple[Any, Any]:
    code: Any = bindparam("code")
    head = (select(User.username).where(User.department_code == code, User.active.is_(True))
            .order_by(User.rank.desc(), User.username).limit(1).scalar_subquery())
    chain = select(Department.code, Department.name, Department.parent_code, literal(0).label("depth")) \
        .where(Department.code == code).cte("above", recursive=True)
    chain = chain.union_all(
        select(Department.code, Department.name, Department.parent_code, (chain.c.depth + 1).label("depth"))
        .where(Department.code == chain.c.parent_code, chain.c.depth < MAX_DEPARTMENT_DEPTH))
    return select(chain.c.code, chain.c.name, head.label("head")).order_by(chain.c.depth), select(head)


_PLACE, _HEAD = _place()  # a department and those above it, nearest first, with its head; its head alone


ABSENCE_KINDS = ("출장", "휴가", "교육", "병가")


@dataclass(frozen=True)
class Colleague:
    """Someone as others pick them from the organisation: name, position and department, never a login."""

    username: str
    display_name: str
    position: str | None
    department: str | None


def colleagues(session: Session, usernames: Iterable[str] | None = None) -> list[Colleague]:
    """Active people (only ``usernames`` when given), by department, then rank (highest first), then name."""
    query = (
        select(User, Department.name)
        .outerjoin(Department, Department.code == User.department_code)
        .where(User.active.is_(True))
        .order_by(Department.name, User.rank.desc(), User.display_name, User.username)
    )
    if usernames is not None:
        query = query.where(User.username.in_(set(usernames)))
    return [Colleague(user.username, user.display_name, user.position, department)
            for user, department in session.execute(query)]


def absences_seen(session: Session, principal: Principal, now: datetime | None = None) -> list[Absence]:
    """The current and upcoming absences ``principal`` sees: their own and those they stand in for
    (admins: everyone's), soonest first."""
    query = select(Absence).where(Absence.ends_at > _now(now), Absence.ends_at > Absence.starts_at)  # not called off
    if not principal.has_role("admin"):
        query = query.where((Absence.username == principal.username) | (Absence.deputy == principal.username))
    return list(session.execute(query.order_by(Absence.starts_at, Absence.id)).scalars())


def lock_absence(session: Session, absence_id: int) -> Absence:
    """An absence, locked until the unit of work ends."""
    absence = session.execute(select(Absence).where(Absence.id == absence_id).with_for_update()).scalar_one_or_none()
    if absence is None:
        raise NotFound(f"no absence {absence_id}")
    return absence


def end_absence(session: Session, absence: Absence, ends_at: datetime, *, actor: str) -> Absence:
    """End an absence at ``ends_at`` (its start, for one that has not begun: it is called off)."""
    was = absence.ends_at
    absence.ends_at = max(ends_at, absence.starts_at)
    audit.append_to_system(
        session,
        audit.Entry(
            action="absence.ended",
            actor=actor,
            detail={"id": absence.id, "username": absence.username, "deputy": absence.deputy,
                    "until": audit.timestamp(absence.ends_at), "was_until": audit.timestamp(was),
                    "called_off": absence.ends_at == absence.starts_at},
        ),
    )
    return absence


def add_absence(
    session: Session, username: str, deputy: str, kind: str, starts_at: datetime, ends_at: datetime, *, actor: str
) -> Absence:
    """Record an absence (출장, 휴가, 교육, 병가) during which ``deputy`` acts for ``username``."""
    get_user(session, username)
    get_user(session, deputy)
    if ends_at <= starts_at:
        raise InvalidInput("an absence must end after it starts")
    if deputy == username:
        raise InvalidInput("nobody can be their own deputy")
    absence = Absence(username=username, deputy=deputy, kind=kind, starts_at=starts_at, ends_at=ends_at)
    session.add(absence)
    audit.append_to_system(
        session,
        audit.Entry(
            action="absence.added",
            actor=actor,
            detail={"username": username, "deputy": deputy, "kind": kind,
                    "from": audit.timestamp(starts_at), "until": audit.timestamp(ends_at)},
        ),
    )
    return absence


def add_department(session: Session, code: str, name: str, kind: str, parent: str | None = None) -> Department:
    department = Department(code=code, name=name, kind=kind, parent_code=parent)
    session.add(department)
    return department


# -- the organisation as forms choose from it --------------------------------------------------
# A person chosen on a form is kept as the organisation says they are — {"user", "name", "position",
# "rank", "department"} — never as the browser sent them: ``Directory.person`` is what the form check
# fills a chosen person in from, so a rank cannot be forged. Only active people can be chosen.

SEARCH_LIMIT = 50


@dataclass(frozen=True)
class Person:
    """Someone as a form keeps them; ``username`` is the value, never shown."""

    username: str
    name: str
    position: str | None
    rank: int
    department: str | None

    def as_value(self) -> dict[str, Any]:
        return {"user": self.username, "name": self.name, "position": self.position, "rank": self.rank,
                "department": self.department}


@dataclass(frozen=True)
class Unit:
    """A department (국, 실, 과, 팀) and the bureau it belongs to."""

    name: str
    kind: str
    parent: str | None

    def as_value(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "parent": self.parent}


def _people() -> Select[User, str]:
    return (
        select(User, Department.name)
        .outerjoin(Department, Department.code == User.department_code)
        .where(User.active.is_(True))
        .order_by(Department.name, User.rank.desc(), User.display_name, User.username)
    )


def _person(user: User, department: str | None) -> Person:
    return Person(user.username, user.display_name, user.position, user.rank or 0, department)


_BUREAU = aliased(Department)


def _units() -> Select[Department, str]:
    return (
        select(Department, _BUREAU.name)
        .outerjoin(_BUREAU, _BUREAU.code == Department.parent_code)
        .order_by(_BUREAU.name.is_not(None), _BUREAU.name, Department.name)
    )


def _words(query: str) -> list[str]:
    return [word for word in query.split() if word][:5]


def find_people(session: Session, query: str = "", limit: int = SEARCH_LIMIT) -> list[Person]:
    """Active people whose name, position or department holds every word of ``query``."""
    statement = _people()
    for word in _words(query):
        statement = statement.where(
            User.display_name.icontains(word, autoescape=True)
            | User.position.icontains(word, autoescape=True)
            | Department.name.icontains(word, autoescape=True)
        )
    return [_person(user, department) for user, department in session.execute(statement.limit(limit))]


def find_departments(session: Session, query: str = "", limit: int = SEARCH_LIMIT) -> list[Unit]:
    """Departments whose name (or their bureau's) holds every word of ``query``, bureau by bureau."""
    statement = _units()
    for word in _words(query):
        statement = statement.where(
            Department.name.icontains(word, autoescape=True) | _BUREAU.name.icontains(word, autoescape=True)
        )
    return [Unit(unit.name, unit.kind, parent) for unit, parent in session.execute(statement.limit(limit))]


class Directory:
    """The organisation as one unit of work reads it, each answer read once: what the form check
    fills a chosen person in from, and what a form offers to choose from."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._found: dict[str, dict[str, Any] | None] = {}
        self._units: dict[str, Unit] | None = None
        self._everyone: list[dict[str, Any]] | None = None

    def person(self, username: str) -> dict[str, Any] | None:
        """An active person by username, as a form keeps them; None for nobody (or someone gone)."""
        return self.persons([username]).get(username)

    def persons(self, usernames: Collection[str]) -> dict[str, dict[str, Any]]:
        """The active people among ``usernames``, by username, in one read (those not asked before)."""
        unread = [name for name in set(usernames) if name not in self._found]
        if unread:
            found = {user.username: _person(user, department).as_value()
                     for user, department in self.session.execute(_people().where(User.username.in_(unread)))}
            self._found.update({name: found.get(name) for name in unread})
        return {name: person for name in usernames if (person := self._found.get(name)) is not None}

    def has_department(self, name: str) -> bool:
        return name in self._departments()

    def people(self) -> list[dict[str, Any]]:
        """Every active person, department by department, the highest rank first."""
        if self._everyone is None:
            self._everyone = [_person(user, department).as_value()
                              for user, department in self.session.execute(_people())]
        return self._everyone

    def departments(self) -> list[dict[str, Any]]:
        """Every department with its bureau, bureau by bureau."""
        return [unit.as_value() for unit in self._departments().values()]

    def _departments(self) -> dict[str, Unit]:
        if self._units is None:
            self._units = {unit.name: Unit(unit.name, unit.kind, parent)
                           for unit, parent in self.session.execute(_units())}
        return self._units
