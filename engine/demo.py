"""The demo city hall: a mayor, a planning office, two bureaus, five departments, and their people.

``cityflow init --demo`` seeds it so a new user can log in and see a working city hall.
Every demo login shares one password, printed by ``make run``; never use it in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import commands, identity, worklist
from engine.attachments import add_attachment
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


# -- a living city hall: instances of every process, in varied states -----------------------

_LINE = [
    {"kind": "검토", "user": "roads.lead", "rank": 2},
    {"kind": "협조", "user": "traffic.chief", "rank": 3},
    {"kind": "결재", "user": "roads.chief", "rank": 3},
]
_PLACE = {"lat": 37.263573, "lon": 127.028601, "address": "수원시 팔달구 효원로 241 앞 보도"}


def _photo() -> bytes:
    """A one-pixel PNG, so the demo field report has a real photo."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes([0, 200, 60, 40]))) + chunk(b"IEND", b""))


class _Desk:
    """Acts in the demo city hall as its people would: through the worklist, with their authority."""

    def __init__(self, session: Session, ctx: Any, blobs: Any) -> None:
        self.session, self.ctx, self.blobs = session, ctx, blobs

    def who(self, username: str) -> Any:
        return identity.principal(self.session, identity.get_user(self.session, username))

    def start(self, username: str, process: str, data: dict[str, Any]) -> str:
        return commands.start(self.session, self.ctx, self.who(username), process, data).id

    def act(self, username: str, instance_id: str, element_id: str, data: dict[str, Any]) -> None:
        (task,) = [t for t in worklist.tasks_of(self.session, instance_id) if t.element_id == element_id]
        commands.complete(self.session, self.ctx, self.who(username), task.id, data)

    def photo(self, username: str, instance_id: str) -> str:
        stored = add_attachment(self.session, self.blobs, self.who(username), instance_id, "현장사진.png",
                                "image/png", _photo())
        return f"attachment:{stored.id}"


def seed_instances(session: Session, ctx: Any, blobs: Any, run_worker: Any) -> int:
    """Start instances of every demo process in varied states (once: nothing when any exists)."""
    from engine.models import Instance

    if session.execute(select(Instance.id).limit(1)).first() is not None:
        return 0
    desk = _Desk(session, ctx, blobs)
    started = 0

    def begin(username: str, process: str, data: dict[str, Any]) -> str:
        nonlocal started
        started += 1
        return desk.start(username, process, data)

    # 시민제안: one waiting for review, one answered.
    begin("roads.staff", "suggestion", {"title": "버스정류장 그늘막 설치", "supporters": 140})
    answered = begin("welfare.staff", "suggestion", {"title": "경로당 겨울 난방비 지원", "supporters": 35})
    desk.act("planning.staff", answered, "review_suggestion", {"accepted": True, "category": "복지"})
    desk.act("welfare.lead", answered, "write_answer", {"answer": "난방비 지원 대상을 확대했습니다."})

    # 전자결재: one at its first step, one returned to its drafter.
    document = {"drafter": "roads.staff", "doc_type": "일반", "amount": 0, "line": _LINE}
    begin("roads.staff", "approval", {**document, "title": "보도 정비 계획", "body": "시청 앞 보도를 정비합니다."})
    returned = begin("roads.staff", "approval", {**document, "title": "가로수 정비 예산 요청",
                                                  "body": "가로수 120주 가지치기 예산을 요청합니다."})
    desk.act("roads.lead", returned, "review", {"decision": "반려", "comment": "수량 근거를 보완하세요."})

    # 지시사항: waiting for classification, under way, overdue, and closed.
    def directive(title: str) -> str:
        instance_id = begin("mayor", "directive", {"title": title})
        desk.act("mayor", instance_id, "register_directive", {
            "title": title, "content": f"{title} 방안을 마련하여 보고할 것", "issuer": "mayor",
            "source": "간부회의", "issued_on": ctx.clock().date().isoformat()})
        return instance_id

    def under_way(instance_id: str, department: str, head: str, deadline: str) -> None:
        desk.act("planning.staff", instance_id, "classify_directive", {
            "term": "단기", "lead_department": department, "support_departments": [], "deadline": deadline})
        desk.act(head, instance_id, "accept_directive", {"acceptance": "접수"})
        desk.act(head, instance_id, "submit_plan", {"action_plan": "현장 점검 후 단계별 추진",
                                                    "plan_target_on": deadline[:10]})

    today = ctx.clock()
    directive("전통시장 주차난 해소")
    soon = directive("어두운 골목 가로등 정비")
    under_way(soon, "도로과", "roads.chief", (today + timedelta(days=20)).isoformat())
    late = directive("무더위 쉼터 확대 운영")
    under_way(late, "복지정책과", "welfare.chief", (today - timedelta(days=2)).isoformat())
    done = directive("불법 현수막 일제 정비")
    under_way(done, "교통정책과", "traffic.chief", (today + timedelta(days=10)).isoformat())
    desk.act("traffic.staff", done, "report_progress", {"progress_report": "정비를 마쳤습니다.",
                                                        "progress_rate": 100, "finished": True})
    desk.act("traffic.lead", done, "report_completion", {"completion_report": "현수막 312개 철거"})
    desk.act("planning.lead", done, "review_directive", {"review_decision": "종결"})

    # 시민약속사업: two pledges under way.
    for title, department in (("생활도로 보행안전 개선", "도로과"), ("공원 그늘막 확충", "환경정책과")):
        begin("planning.staff", "pledge", {
            "title": title, "category": "생활환경", "department": department, "bureau": "",
            "target_year": today.year + 2, "budget": 500_000_000,
            "milestones": [{"title": f"{title} 1단계", "year": today.year + 1, "target": "착수", "done": False},
                           {"title": f"{title} 2단계", "year": today.year + 2, "target": "완료", "done": False}]})

    # 현장행정: a report from a phone, routed to its department.
    report = begin("welfare.staff", "field_report", {})
    desk.act("welfare.staff", report, "file_report", {
        "photos_before": [desk.photo("welfare.staff", report)], "location": _PLACE, "category": "도로파손",
        "description": "보도블록이 깨져 걸려 넘어질 수 있습니다.", "urgency": "보통"})
    run_worker()
    return started
