"""The demo city hall: a mayor, a planning office, two bureaus, five departments, and their people.

``cityflow init --demo`` seeds it so a new user can log in and see a working city hall.
Every demo login shares one password, printed by ``make run``; never use it in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.identity import add_department, add_user
from engine.models import Department, User

DEMO_PASSWORD = "cityflow-demo"  # noqa: S105 - the published password of the demo logins only

# code, name, kind, parent
DEPARTMENTS = [
    ("mayor_office", "시장실", "실", None),
    ("planning", "기획조정실", "실", None),
    ("safety_bureau", "안전교통국", "국", None),
    ("welfare_bureau", "복지환경국", "국", None),
    ("roads", "도로과", "과", "safety_bureau"),
    ("traffic", "교통정책과", "과", "safety_bureau"),
    ("welfare", "복지정책과", "과", "welfare_bureau"),
    ("environment", "환경정책과", "과", "welfare_bureau"),
    ("recycling", "자원순환과", "과", "welfare_bureau"),
]

RANKS = {"주무관": 1, "팀장": 2, "과장": 3, "국장": 4, "부시장": 5, "시장": 6}


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    department: str
    position: str
    roles: tuple[str, ...] = ("staff",)
    groups: tuple[str, ...] = ()


def _department_people(code: str, surname: str) -> list[DemoUser]:
    return [
        DemoUser(f"{code}.chief", f"{surname}과장", code, "과장"),
        DemoUser(f"{code}.lead", f"{surname}팀장", code, "팀장"),
        DemoUser(f"{code}.staff", f"{surname}주무관", code, "주무관"),
    ]


PEOPLE: list[DemoUser] = [
    DemoUser("mayor", "시장", "mayor_office", "시장", groups=("issuers",)),
    DemoUser("vice.mayor", "부시장", "mayor_office", "부시장", groups=("issuers",)),
    DemoUser("planning.chief", "기획조정실장", "planning", "국장"),
    DemoUser("planning.lead", "정책기획팀장", "planning", "팀장"),
    DemoUser("planning.staff", "정책기획 주무관", "planning", "주무관"),
    DemoUser("safety.director", "안전교통국장", "safety_bureau", "국장"),
    DemoUser("welfare.director", "복지환경국장", "welfare_bureau", "국장"),
    *_department_people("roads", "김"),
    *_department_people("traffic", "이"),
    *_department_people("welfare", "박"),
    *_department_people("environment", "최"),
    *_department_people("recycling", "정"),
    DemoUser("auditor", "감사관", "planning", "과장", roles=("auditor",)),
    DemoUser("designer", "업무설계 담당", "planning", "주무관", roles=("staff", "designer")),
    DemoUser("admin", "시스템 관리자", "planning", "주무관", roles=("admin",)),
]


def seed_organisation(session: Session, actor: str = "system:demo") -> list[DemoUser]:
    """Create the demo departments and users that are missing; returns the users created."""
    existing = set(session.execute(select(User.username)).scalars())
    for code, name, kind, parent in DEPARTMENTS:
        if session.get(Department, code) is None:
            add_department(session, code, name, kind, parent)
            session.flush()
    created = []
    for person in PEOPLE:
        if person.username in existing:
            continue
        add_user(
            session,
            person.username,
            DEMO_PASSWORD,
            actor=actor,
            display_name=person.name,
            roles=person.roles,
            groups=person.groups,
            department=person.department,
            position=person.position,
            rank=RANKS[person.position],
        )
        created.append(person)
    session.flush()
    return created
