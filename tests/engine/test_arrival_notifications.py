"""A task that announces its arrival (``camunda:property notify = arrival``): the people it is offered to
hear of it once, in the app and by mail, in the transaction that opened it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from engine import identity, instances
from engine.clock import MovableClock
from engine.models import Notification, OutgoingMail
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'
ARRIVAL = ('<bpmn:extensionElements><camunda:properties><camunda:property name="notify" value="arrival"/>'
           '{title}</camunda:properties></bpmn:extensionElements>')


def announced(task_id: str, name: str, attrs: str, title: str | None = None) -> str:
    """A user task that announces its arrival (optionally under its own title)."""
    extra = f'<camunda:property name="notify_title" value="{title}"/>' if title else ""
    return f'<bpmn:userTask id="{task_id}" name="{name}" {attrs}>{ARRIVAL.format(title=extra)}</bpmn:userTask>'


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


@pytest.fixture
def roads(timed: Driver, monkeypatch: pytest.MonkeyPatch) -> Driver:
    """A roads department of three with mail addresses, an auditor placed in it, and a planner outside it."""
    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    with timed.database.unit_of_work() as session:
        identity.add_department(session, "roads", "도로과", "과")
        identity.add_department(session, "planning", "기획조정실", "실")
        session.flush()
        for username, name, department, position, rank in [
            ("roads.chief", "김과장", "roads", "과장", 3), ("roads.lead", "김팀장", "roads", "팀장", 2),
            ("roads.staff", "김주무관", "roads", "주무관", 1), ("planner", "정주무관", "planning", "주무관", 1),
        ]:
            identity.add_user(session, username, "city-password", actor="test", display_name=name, department=department,
                              position=position, rank=rank, email=f"{username}@city.example")
        identity.add_user(session, "roads.auditor", "city-password", actor="test", display_name="감사 담당",
                          roles=("auditor",), department="roads", position="주무관", email="audit@city.example")
    return timed


def deploy(driver: Driver, tmp_path: Path, key: str, body: str) -> None:
    driver.deploy(write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body))}))


def told(driver: Driver, instance_id: str) -> list[tuple[str, str, str, str | None]]:
    """(who, title, body, link) of every in-app notification about the instance."""
    with driver.database.unit_of_work() as session:
        rows = session.execute(
            select(Notification.username, Notification.title, Notification.body, Notification.link)
            .where(Notification.instance_id == instance_id).order_by(Notification.username, Notification.id)
        ).all()
    return [(u, t, b, link) for u, t, b, link in rows]


def mailed(driver: Driver) -> list[tuple[str, str]]:
    with driver.database.unit_of_work() as session:
        rows = session.execute(select(OutgoingMail.recipient, OutgoingMail.subject)
                               .order_by(OutgoingMail.recipient)).all()
    return [(r, s) for r, s in rows]


def test_a_group_task_announcing_its_arrival_tells_each_member_once_in_the_app_and_by_mail(
    roads: Driver, tmp_path: Path
) -> None:
    body = (START + user_task("draft_plan", "계획 작성", 'camunda:assignee="planner"')
            + announced("repair", "보수 계획 검토", 'camunda:candidateGroups="도로과"') + END
            + chain("start", "draft_plan", "repair", "end"))
    deploy(roads, tmp_path, "repairs", body)
    instance = roads.start("repairs", {"title": "효원로 포트홀"}, initiator="planner")
    roads.complete(instance, "draft_plan", {"plan": "야간 보수"}, actor="planner")
    task_id = roads.task_id(instance, "repair")

    # Every member who may act on it; the auditor placed in the department reads, and is not told.
    expected = [(member, "새 할 일: 보수 계획 검토", "효원로 포트홀", f"/tasks/{task_id}")
                for member in ("roads.chief", "roads.lead", "roads.staff")]
    assert told(roads, instance) == expected
    assert mailed(roads) == [(f"{member}@city.example", "새 할 일: 보수 계획 검토")
                             for member in ("roads.chief", "roads.lead", "roads.staff")]

    # Later steps that leave the task open (a correction of the data, which offers it again) tell no one again.
    with roads.database.unit_of_work() as session:
        instances.edit_data(session, roads.ctx, instance, {"title": "효원로 포트홀 (2곳)"}, "admin")
    assert told(roads, instance) == expected
    roads.complete(instance, "repair", actor="roads.staff")
    assert roads.instance(instance).status == "completed"
    assert told(roads, instance) == expected
    assert len(mailed(roads)) == 3


def test_a_task_that_does_not_announce_its_arrival_tells_nobody(roads: Driver, tmp_path: Path) -> None:
    body = (START + user_task("repair", "보수 계획 검토", 'camunda:candidateGroups="도로과"')
            + user_task("check", "점검", 'camunda:assignee="roads.chief"') + END + chain("start", "repair", "check", "end"))
    deploy(roads, tmp_path, "quiet", body)
    instance = roads.start("quiet", {"title": "효원로 포트홀"}, initiator="planner")
    roads.complete(instance, "repair", actor="roads.staff")
    assert roads.ready(instance) == ["check"]
    assert told(roads, instance) == []
    assert mailed(roads) == []


def test_whoever_hands_the_work_on_is_not_told_of_it(roads: Driver, tmp_path: Path) -> None:
    body = (START + user_task("report", "보고", 'camunda:assignee="roads.staff"')
            + announced("review", "보고 검토", 'camunda:candidateGroups="도로과"') + END
            + chain("start", "report", "review", "end"))
    deploy(roads, tmp_path, "handover", body)
    instance = roads.start("handover", {"title": "주간 보고"}, initiator="roads.staff")
    roads.complete(instance, "report", actor="roads.staff")
    assert [who for who, *_ in told(roads, instance)] == ["roads.chief", "roads.lead"]


def test_the_deputy_of_an_absent_assignee_hears_of_the_task_under_its_own_title(
    roads: Driver, clock: MovableClock, tmp_path: Path
) -> None:
    with roads.database.unit_of_work() as session:
        identity.add_absence(session, "roads.chief", "roads.lead", "휴가", T0 - timedelta(days=1),
                             T0 + timedelta(days=2), actor="roads.chief")
    body = (START + announced("sign", "결재", 'camunda:assignee="roads.chief"', title="결재할 문서가 도착했습니다")
            + END + chain("start", "sign", "end"))
    deploy(roads, tmp_path, "signing", body)
    instance = roads.start("signing", {"title": "보도 정비 계획"}, initiator="planner")
    task_id = roads.task_id(instance, "sign")
    assert told(roads, instance) == [
        ("roads.chief", "결재할 문서가 도착했습니다", "보도 정비 계획", f"/tasks/{task_id}"),
        ("roads.lead", "결재할 문서가 도착했습니다", "보도 정비 계획", f"/tasks/{task_id}"),
    ]

    clock.advance(days=3)  # back from leave: the next one goes to the assignee alone
    second = roads.start("signing", {"title": "가로등 교체 계획"}, initiator="planner")
    assert [who for who, *_ in told(roads, second)] == ["roads.chief"]


def test_a_task_whose_step_fails_tells_nobody(roads: Driver, tmp_path: Path) -> None:
    body = (START + announced("repair", "보수", 'camunda:candidateGroups="도로과"')
            + user_task("broken", "점검", 'camunda:assignee="${missing_name}"') + END
            + '<bpmn:parallelGateway id="split"/>'
            + chain("start", "split") + chain("split", "repair", "end") + '<bpmn:sequenceFlow id="f2" '
            'sourceRef="split" targetRef="broken"/><bpmn:endEvent id="end2"/>' + chain("broken", "end2"))
    deploy(roads, tmp_path, "failing", body)
    instance = roads.start("failing", {"title": "효원로"}, initiator="planner")
    assert roads.instance(instance).status == "error"
    assert told(roads, instance) == []
    assert mailed(roads) == []
