"""`cityflow init --demo` leaves a city hall that has been at work for months: directives, pledges,
field reports and approval documents in every state their processes have, started and acted on by
the people whose work it is, at their moments, with every audit chain whole — seeded once."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from api.form_check import check_form
from engine import audit, identity, registry
from engine.attachments import BlobStore
from engine.citytime import CityTime
from engine.config import Settings, get_settings
from engine.context import EngineContext
from engine.db import Database
from engine.demo import seed_instances
from engine.models import AuditRecord, Instance, OpenTask, Remark, ScheduleEvent, User
from engine.worker import Worker
from tests.api.conftest import seed
from tests.conftest import _empty

ISSUERS = {"mayor", "vice.mayor"}
PLANNING_OFFICE = {"planning.chief", "planning.lead", "planning.staff"}


@dataclass
class DemoCity:
    database: Database
    settings: Settings
    started: int
    seeded_at: datetime


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo_city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCity]:
    """The demo city hall seeded once per database, as `cityflow init --demo` seeds it."""
    database: Database = request.getfixturevalue(f"_{request.param}_database")
    _empty(database)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
        patch.setenv("CITYFLOW_VAR_DIR", str(tmp_path_factory.mktemp("demo-var")))
        patch.setenv("CITYFLOW_AUDIT_KEY", "test-audit-key")
        get_settings.cache_clear()
        settings = get_settings()
        seed(database)
        ctx = EngineContext.create(form_check=check_form)
        seeded_at = ctx.clock()
        with database.unit_of_work() as session:
            started = seed_instances(session, ctx, BlobStore(settings.attachments_dir), lambda: None)
        Worker(database, ctx, settings).drain()
        yield DemoCity(database, settings, started, seeded_at)
    get_settings.cache_clear()
    _empty(database)


def _open_tasks(demo_city: DemoCity) -> dict[str, list[str]]:
    with demo_city.database.unit_of_work() as session:
        tasks: dict[str, list[str]] = defaultdict(list)
        for instance_id, element_id in session.execute(select(OpenTask.instance_id, OpenTask.element_id)):
            tasks[instance_id].append(element_id)
    return tasks


def _cases(demo_city: DemoCity, process_key: str) -> list[Instance]:
    with demo_city.database.unit_of_work() as session:
        return list(session.execute(select(Instance).where(Instance.process_key == process_key)).scalars())


def test_months_of_work_fill_the_registers(demo_city: DemoCity) -> None:
    with demo_city.database.unit_of_work() as session:
        counted = dict(session.execute(select(Instance.process_key, func.count()).group_by(Instance.process_key)).all())
        started = sorted(session.execute(select(Instance.started_at)).scalars())
        directives = registry.register(session, "directive", demo_city.seeded_at)
        pledges = registry.register(session, "pledge", demo_city.seeded_at)
        reports = registry.register(session, "field_report", demo_city.seeded_at)
        documents = registry.register(session, "approval", demo_city.seeded_at)
    assert sum(counted.values()) == demo_city.started
    assert counted["directive"] >= 30 and directives.total == counted["directive"]
    assert counted["pledge"] >= 15 and pledges.total == counted["pledge"]
    assert counted["field_report"] >= 40 and reports.total == counted["field_report"]
    assert counted["approval"] >= 20 and documents.matching == counted["approval"]
    assert started[0] < demo_city.seeded_at - timedelta(days=150), "the history goes back about half a year"
    assert started[-1] > demo_city.seeded_at - timedelta(days=14), "and reaches the last working days"
    months = {(moment.year, moment.month) for moment in started}
    assert len(months) >= 6, f"cases were started in only {sorted(months)}"
    assert all(directives.by_status[status] for status in ("추진중", "완료", "계속관리", "장기검토", "추진불가")), \
        directives.by_status
    assert directives.overdue and directives.overdue >= 2
    assert all(reports.by_status[status] for status in ("접수", "처리중", "처리완료")), reports.by_status
    assert all(pledges.by_status[status] for status in ("완료", "이행후계속추진", "정상추진", "일부추진", "보류", "폐기")), \
        pledges.by_status


def test_every_approval_state_is_on_someones_desk_or_in_the_files(demo_city: DemoCity) -> None:
    tasks = _open_tasks(demo_city)
    states: Counter[str] = Counter()
    for case in _cases(demo_city, "approval"):
        data, waiting = case.data, set(tasks[case.id])
        if "review" in waiting:
            states["결재 중: 검토"] += 1
        if "concur" in waiting:
            states["결재 중: 병렬협조" if len(data["step_approvers"]) > 1 else "결재 중: 협조"] += 1
        if "approve" in waiting:
            states["결재 중: 결재"] += 1
        if "on_hold" in waiting:
            states["보류"] += 1
        if "revise_document" in waiting and data["returned_by"]:
            states["반려: 기안자 수정 대기"] += 1
        if "post_review" in waiting:
            states["후결 대기"] += 1
        if case.status == "completed" or data.get("result"):
            states[{"APPROVED": f"결재 완료: {data['approval_kind']}", "WITHDRAWN": "회수",
                    "DISCARDED": "폐기"}[data["result"]]] += 1
    for state in ("결재 중: 검토", "결재 중: 협조", "결재 중: 병렬협조", "결재 중: 결재", "보류", "반려: 기안자 수정 대기",
                  "회수", "폐기", "결재 완료: 일반", "결재 완료: 전결", "결재 완료: 대결", "후결 대기"):
        assert states[state], f"no approval document is {state}: {dict(states)}"


def test_every_directive_state_is_there_from_the_mayors_word_to_its_closing(demo_city: DemoCity) -> None:
    tasks = _open_tasks(demo_city)
    states: Counter[str] = Counter()
    for case in _cases(demo_city, "directive"):
        data, waiting = case.data, set(tasks[case.id])
        if "classify_directive" in waiting:
            states["재지정 요청" if data["reassignment_requests"] else "분류·배정"] += 1
        for element, state in (("accept_directive", "접수"), ("submit_plan", "이행계획"),
                               ("review_directive", "완료보고 검토"), ("acknowledge_infeasible", "추진불가 확인")):
            states[state] += element in waiting
        if "report_progress" in waiting and data["progress_reports"]:
            states["추진 중, 추진상황 보고"] += 1
        if "report_progress" in waiting and data["instructions"]:
            states["재지시"] += 1
        if case.status == "running" and data["deadline"] and \
                datetime.fromisoformat(data["deadline"]) < demo_city.seeded_at:
            states["기한 경과"] += 1
        states[f"상태 {data['status']}"] += 1
        if case.status == "completed":
            states[f"끝: {data['status']}"] += 1
    for state in ("분류·배정", "재지정 요청", "접수", "이행계획", "추진 중, 추진상황 보고", "기한 경과", "완료보고 검토",
                  "상태 계속관리", "재지시", "상태 장기검토", "추진불가 확인", "끝: 추진불가", "끝: 완료"):
        assert states[state], f"no directive is {state}: {dict(states)}"


def test_field_reports_urgent_and_not_are_received_in_hand_and_closed(demo_city: DemoCity) -> None:
    states = Counter((case.data["status"], case.data["urgency"]) for case in _cases(demo_city, "field_report"))
    for status in ("접수", "처리중", "처리완료"):
        for urgency in ("긴급", "보통"):
            assert states[(status, urgency)], f"no {urgency} report is {status}: {dict(states)}"


def test_every_pledge_status_has_its_quarterly_reports(demo_city: DemoCity) -> None:
    tasks = _open_tasks(demo_city)
    pledges = _cases(demo_city, "pledge")
    statuses = Counter(case.data.get("status") for case in pledges)
    for status in ("완료", "이행후계속추진", "정상추진", "일부추진", "보류", "폐기"):
        assert statuses[status], f"no pledge is {status}: {dict(statuses)}"
    reported = [case for case in pledges if (case.data.get("report_count") or 0) >= 1]
    assert len(reported) >= 15 and sum(case.data["report_count"] >= 2 for case in reported) >= 10
    assert all(case.data["last_report"]["period"].endswith("분기") for case in reported)
    waiting = Counter(element for case in pledges for element in tasks[case.id])
    sent_back = [case for case in pledges if "report_progress" in tasks[case.id] and case.data.get("review_comment")]
    assert waiting["report_progress"] >= 2 and sent_back, "a late report and one sent back for more"
    for element in ("check_report", "review_status", "register_pledge"):
        assert waiting[element], f"no pledge waits at {element}: {dict(waiting)}"


def test_the_people_whose_work_it_is_started_and_acted(demo_city: DemoCity) -> None:
    with demo_city.database.unit_of_work() as session:
        people = {user.username: user for user in session.execute(select(User)).scalars()}
        created = session.execute(
            select(Instance.process_key, AuditRecord.actor).join(AuditRecord, AuditRecord.chain == Instance.id)
            .where(AuditRecord.action == "instance.created")).all()
        completed = session.execute(
            select(Instance.process_key, AuditRecord.element_id, AuditRecord.actor, AuditRecord.detail)
            .join(AuditRecord, AuditRecord.chain == Instance.id).where(AuditRecord.action == "task.completed",
                                                                      AuditRecord.actor.in_(people))).all()
        drafters = [case.data["drafter"] for case in session.execute(
            select(Instance).where(Instance.process_key == "approval")).scalars()]
    starters: dict[str, set[str]] = defaultdict(set)
    for process_key, actor in created:
        starters[process_key].add(actor)
    assert starters["directive"] == ISSUERS, "the mayor (and the deputy mayor) give directives"
    assert "mayor" not in starters["field_report"] and all(people[a].department_code for a in starters["field_report"])
    assert starters["approval"] == set(drafters) and all(people[a].rank <= 2 for a in drafters), \
        "documents are drafted by the departments' officers"
    acted: dict[str, set[str]] = defaultdict(set)
    for _, element_id, actor, _detail in completed:
        acted[str(element_id)].add(actor)
    assert acted["register_directive"] <= ISSUERS
    assert acted["classify_directive"] <= PLANNING_OFFICE and acted["review_directive"] <= PLANNING_OFFICE
    assert acted["check_report"] <= PLANNING_OFFICE and acted["review_status"] <= PLANNING_OFFICE
    deputies = [detail["on_behalf_of"] for _, element_id, _, detail in completed
                if element_id == "approve" and detail and detail.get("on_behalf_of")]
    assert deputies, "a deputy approved for an absent approver (대결)"


def test_people_act_on_working_days_in_office_hours_months_ago(demo_city: DemoCity) -> None:
    city = CityTime.from_settings(demo_city.settings)
    with demo_city.database.unit_of_work() as session:
        people = set(session.execute(select(User.username)).scalars())
        moments = list(session.execute(select(AuditRecord.at).where(
            AuditRecord.action == "task.completed", AuditRecord.actor.in_(people))).scalars())
        chains: dict[str, list[datetime]] = defaultdict(list)
        for chain, at, action in session.execute(select(AuditRecord.chain, AuditRecord.at, AuditRecord.action)
                                                 .order_by(AuditRecord.chain, AuditRecord.seq)):
            if action.startswith(("instance.", "task.", "timer.", "job.")):
                chains[chain].append(at)
    assert len(moments) > 300
    for moment in moments:
        local = city.local(moment)
        assert city.is_working_day(local) and time(9) <= local.time() <= time(18), f"someone worked at {local}"
    assert min(moments) < demo_city.seeded_at - timedelta(days=120)
    for chain, ats in chains.items():
        assert ats == sorted(ats), f"the trail of {chain} goes back in time"


def test_nothing_stopped_with_an_error_and_every_audit_chain_verifies(demo_city: DemoCity) -> None:
    with demo_city.database.unit_of_work() as session:
        statuses = Counter(session.execute(select(Instance.status)).scalars())
        verification = audit.verify(session, settings=demo_city.settings)
    assert set(statuses) == {"running", "completed"}, statuses
    assert verification.ok, verification.first_broken
    assert verification.records > 5000


def test_seeding_the_demo_again_adds_nothing(demo_city: DemoCity) -> None:
    ctx = EngineContext.create(form_check=check_form)
    with demo_city.database.unit_of_work() as session:
        before = session.execute(select(func.count()).select_from(Instance)).scalar_one()
        assert seed_instances(session, ctx, BlobStore(demo_city.settings.attachments_dir), _never) == 0
        assert session.execute(select(func.count()).select_from(Instance)).scalar_one() == before


def _never() -> Any:
    raise AssertionError("nothing was seeded, so nothing is left for the worker")


def test_the_mayors_schedule_holds_past_weeks_and_the_two_ahead_on_working_days(demo_city: DemoCity) -> None:
    city = CityTime.from_settings(demo_city.settings)
    with demo_city.database.unit_of_work() as session:
        entries = list(session.execute(select(ScheduleEvent).where(ScheduleEvent.owner == "mayor")).scalars())
        entered = list(session.execute(select(AuditRecord.actor, AuditRecord.at).where(
            AuditRecord.action == "schedule.added")).all())
    today = city.today(demo_city.seeded_at)
    days = {city.day(event.starts_at) for event in entries}
    assert all(city.is_working_day(day) for day in days)
    assert min(days) < today - timedelta(days=49) and max(days) > today + timedelta(days=7)
    assert {event.kind for event in entries} == {"회의", "현장방문", "행사", "면담"}
    assert any(event.private for event in entries) and not all(event.private for event in entries)
    assert {actor for actor, _ in entered} == {"mayor.secretary"} and len(entered) == len(entries)
    assert all(at < event.starts_at for (_, at), event in zip(sorted(entered, key=lambda e: e[1]),
                                                              sorted(entries, key=lambda e: e.id), strict=True))


def test_the_mayors_remarks_at_the_monday_meetings_are_written_down_with_their_meeting(demo_city: DemoCity) -> None:
    with demo_city.database.unit_of_work() as session:
        kept = list(session.execute(select(Remark).order_by(Remark.said_at)).scalars())
        meetings = {event.id: event for event in session.execute(select(ScheduleEvent)).scalars()}
    assert len(kept) >= 6
    for remark in kept:
        meeting = meetings[remark.schedule_entry_id] if remark.schedule_entry_id else None
        assert meeting is not None and meeting.title == "확대간부회의" and meeting.starts_at <= remark.said_at
        assert remark.created_by == "mayor.secretary" and remark.created_at > remark.said_at and remark.tags


def test_key_indicators_carry_months_of_values_with_shortfalls_explained_one_raised_as_an_issue(
        demo_city: DemoCity) -> None:
    with demo_city.database.unit_of_work() as session:
        figures = registry.register(session, "indicator", demo_city.seeded_at)
    cases = _cases(demo_city, "indicator")
    assert figures.total == len(cases) >= 9
    assert figures.by_status["등록"] == 1 and figures.by_status["폐지"] == 1, figures.by_status
    monthly = [c for c in cases if c.data.get("schedule") == "월간" and c.data.get("status") != "폐지"]
    assert min(len(c.data["measurements"]) for c in monthly) >= 6, "every monthly indicator has half a year of values"
    judged = {m["judgement"] for c in cases for m in c.data.get("measurements") or []}
    assert judged == {"달성", "주의", "미달"}
    for case in cases:
        missed = [m["period"] for m in case.data.get("measurements") or [] if m["judgement"] == "미달"]
        explained = [e["period"] for e in case.data.get("explanations") or []]
        assert explained in (missed, missed[:-1]), f"{case.data['title']}: every shortfall explained (the latest maybe not yet)"
    (bus,) = [c.id for c in cases if c.data["title"] == "시내버스 정시성"]
    raised = [c for c in _cases(demo_city, "pending_issue") if (c.data.get("raised_from") or {}).get("instance_id") == bus]
    assert len(raised) == 1 and raised[0].data["status"] == "진행중"


def test_a_season_of_people_the_mayor_met_with_where_they_appear_who_read_their_contacts_and_one_erased(
        demo_city: DemoCity) -> None:
    from engine import demo_persons
    from engine.models import Person, PersonContact, PersonLink

    with demo_city.database.unit_of_work() as session:
        people = list(session.execute(select(Person)).scalars())
        alive = [p for p in people if p.erased_at is None]
        assert len(alive) == len(demo_persons.PEOPLE) >= 30
        assert {p.kind for p in alive} >= {"시민", "전문가", "공무원", "기관·단체", "언론", "의원"}
        links = list(session.execute(select(PersonLink)).scalars())
        assert Counter(link.kind for link in links).keys() == {"schedule", "remark", "case"}
        assert len([link for link in links if link.kind == "case"]) >= 20
        guests = {p.id: next(s.guest for s in demo_persons.PEOPLE if s.name == p.name) for p in alive}
        for link in links:
            if link.kind == "schedule":  # linked to the entries that name them among the guests
                entry = session.get(ScheduleEvent, int(link.target))
                assert entry is not None and guests[link.person_id] in entry.guests
        readings = [(r.actor, r.detail["purpose"]) for r in session.execute(
            select(AuditRecord).where(AuditRecord.action == "person.viewed")).scalars()]
        assert len(readings) >= 20 and {"mayor.secretary", "mayor.aide", "mayor"} == {a for a, _ in readings}
        assert {"일정 조율", "면담 후속 조치", "행사 초청", "민원 회신"} <= {p for _, p in readings}

        (erased,) = [p for p in people if p.erased_at is not None]
        assert (erased.name, erased.kind, erased.organisation, erased.tags) == (None, None, "", [])
        assert (erased.erased_by, erased.erasure_channel) == ("mayor.aide", "전화")
        assert session.get(PersonContact, erased.id) is None
        assert not [link for link in links if link.person_id == erased.id]
        trail = " ".join(f"{r.changes} {r.detail}" for r in session.execute(select(AuditRecord)).scalars())
    gone = demo_persons.ERASED
    for value in (gone.name, gone.phone, gone.email, gone.address, gone.notes):
        assert value not in trail, value
