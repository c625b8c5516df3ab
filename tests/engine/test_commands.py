"""The engine's commands and its one transition pipeline, reloaded from the database between steps:
a correction of the data reaches the open tasks and timers that read it; a task without a form
takes only the outputs its BPMN declares; a cancellation and a correction persist like any step."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import commands, identity
from engine.clock import MovableClock
from engine.db import Database
from engine.errors import FormInvalid, NotAllowed
from engine.models import OpenTask, Participant, TaskDraft, Timer
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'

# A task offered to the team the data names, due when the data says, with a reminder at a moment
# the data gives.
ROUTED = (
    START
    + user_task("handle", "민원 처리", 'camunda:candidateGroups="${team}" camunda:dueDate="${deadline}"')
    + '<bpmn:boundaryEvent id="reminder" attachedToRef="handle" cancelActivity="false">'
    '<bpmn:timerEventDefinition id="td"><bpmn:timeDate>reminder_at</bpmn:timeDate></bpmn:timerEventDefinition>'
    "</bpmn:boundaryEvent>"
    + user_task("follow_up", "독촉 확인") + '<bpmn:endEvent id="reminded"/>'
    + END + chain("start", "handle", "end") + chain("reminder", "follow_up", "reminded")
)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


def people(database: Database) -> None:
    with database.unit_of_work() as session:
        identity.add_user(session, "admin", "a long enough password", actor="test", roles=["admin"])
        identity.add_user(session, "clerk", "a long enough password", actor="test", groups=["민원팀"])


def as_person(database: Database, username: str) -> identity.Principal:
    with database.unit_of_work() as session:
        return identity.principal(session, identity.get_user(session, username))


def test_a_corrected_team_deadline_and_reminder_reach_the_waiting_task_and_its_timer(
    timed: Driver, tmp_path: Path, database: Database, clock: MovableClock
) -> None:
    timed.deploy(write_folder(tmp_path, "routed", {"routed.bpmn": bpmn(process("routed", ROUTED))}))
    people(database)
    instance = timed.start("routed", {"team": "도로과", "deadline": "2026-12-10T09:00:00+09:00",
                                      "reminder_at": "2026-12-08T09:00:00+09:00"})
    task = timed.open_task(instance, "handle")
    assert (task.candidate_groups, task.due_at) == (["도로과"], datetime(2026, 12, 10, 0, 0, tzinfo=UTC))
    with database.unit_of_work() as session:
        assert [t.due_at for t in session.execute(select(Timer)).scalars()] == [datetime(2026, 12, 8, 0, 0, tzinfo=UTC)]
        session.add(TaskDraft(task_id=task.id, username="clerk", data={"note": "반쯤 씀"}, saved_at=T0))

    with database.unit_of_work() as session:
        commands.edit_data(session, timed.ctx, as_person(database, "admin"), instance, {
            "team": "민원팀", "deadline": "2026-12-04T18:00:00+09:00", "reminder_at": "2026-12-03T09:00:00+09:00"})

    moved = timed.open_task(instance, "handle")
    assert moved.id == task.id  # the same task, re-offered: not a new one
    assert (moved.candidate_groups, moved.due_at) == (["민원팀"], datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    with database.unit_of_work() as session:
        assert [t.due_at for t in session.execute(select(Timer)).scalars()] == [datetime(2026, 12, 3, 0, 0, tzinfo=UTC)]
        assert session.get(TaskDraft, (task.id, "clerk")) is not None  # what someone wrote is kept
        assert ("group", "민원팀") in {(p.kind, p.name) for p in session.execute(
            select(Participant).where(Participant.instance_id == instance)).scalars()}
    edited = [r for r in timed.trail(instance) if r["action"] == "instance.data_edited"]
    assert edited[0]["actor"] == "admin"
    assert edited[0]["changes"]["team"] == ["도로과", "민원팀"]
    assert timed.verify(instance).ok


def test_only_an_admin_corrects_data(timed: Driver, tmp_path: Path, database: Database) -> None:
    timed.deploy(write_folder(tmp_path, "routed", {"routed.bpmn": bpmn(process("routed", ROUTED))}))
    people(database)
    instance = timed.start("routed", {"team": "민원팀", "deadline": "P3D", "reminder_at": "2026-12-08T09:00:00Z"})
    with pytest.raises(NotAllowed), database.unit_of_work() as session:
        commands.edit_data(session, timed.ctx, as_person(database, "clerk"), instance, {"team": "도로과"})
    assert timed.open_task(instance, "handle").candidate_groups == ["민원팀"]


DECLARED = (
    START + user_task("note_down", "기록", 'camunda:candidateGroups="민원팀"').replace(
        "/>", '><bpmn:extensionElements><camunda:properties>'
        '<camunda:property name="outputs" value="summary, severity"/></camunda:properties>'
        "</bpmn:extensionElements></bpmn:userTask>", 1)
    + END + chain("start", "note_down", "end")
)


def test_a_task_without_a_form_takes_only_the_outputs_its_bpmn_declares(
    driver: Driver, tmp_path: Path, database: Database
) -> None:
    driver.deploy(write_folder(tmp_path, "noted", {"noted.bpmn": bpmn(process("noted", DECLARED))}))
    people(database)
    instance = driver.start("noted")
    task_id = driver.task_id(instance, "note_down")
    clerk = as_person(database, "clerk")
    with pytest.raises(FormInvalid) as refused, database.unit_of_work() as session:
        commands.complete(session, driver.ctx, clerk, task_id, {"summary": "가로등", "initiator": "mayor"})
    assert refused.value.errors == [{"field": "initiator", "message": "이 서식에 없는 항목입니다."}]
    assert driver.ready(instance) == ["note_down"]
    with database.unit_of_work() as session:
        commands.complete(session, driver.ctx, clerk, task_id, {"summary": "가로등", "severity": 2})
    assert driver.instance(instance).status == "completed"
    assert driver.instance(instance).data["severity"] == 2


def test_a_cancellation_is_a_step_like_any_other(driver: Driver, tmp_path: Path, database: Database) -> None:
    driver.deploy(write_folder(tmp_path, "noted", {"noted.bpmn": bpmn(process("noted", DECLARED))}))
    people(database)
    instance = driver.start("noted", initiator="clerk")
    task_id = driver.task_id(instance, "note_down")
    with database.unit_of_work() as session:
        session.add(TaskDraft(task_id=task_id, username="clerk", data={"summary": "초안"}, saved_at=T0))
    with database.unit_of_work() as session:
        commands.cancel(session, driver.ctx, as_person(database, "clerk"), instance, "중복 접수")
    assert driver.instance(instance).status == "cancelled"
    assert driver.count(OpenTask, instance_id=instance) == 0
    assert driver.count(TaskDraft, task_id=task_id) == 0  # nobody is left holding a draft of a gone task
    trail = driver.trail(instance)
    assert [(r["action"], r["element_id"]) for r in trail[-2:]] == [
        ("task.cancelled", "note_down"), ("instance.cancelled", None)]
    assert trail[-1]["detail"] == {"reason": "중복 접수"}
    assert driver.verify(instance).ok
