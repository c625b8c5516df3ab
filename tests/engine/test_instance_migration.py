"""Moving running cases to a new version of their process, as a designer asks: those whose current
tasks are unchanged there move and go on along the new diagram; the others stay, each with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import commands, definitions, worklist
from engine.clock import MovableClock
from engine.config import Settings
from engine.errors import InvalidInput, NotAllowed
from engine.identity import Principal
from engine.instance_migration import MIGRATED, Migration
from engine.models import Instance, MessageWait, OpenTask, ProcessVersion, Timer
from engine.worker import Worker, deliver_message
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'
FORM = {"schema": {"type": "object", "properties": {"opinion": {"type": "string"}}}}
DESIGNER = Principal("designer.jung", "정설계", frozenset({"designer"}), frozenset())
REVIEWER = Principal("reviewer.kang", "강검토", frozenset({"staff"}), frozenset({"reviewers"}))


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


def permit(*, draft_group: str = "drafters", after_review: tuple[str, ...] = ("archive",),
           review_form: dict[str, Any] | None = None) -> dict[str, str]:
    """The permit process: drafted, reviewed, then whatever comes after the review in this version."""
    body = (START + user_task("draft", "기안", f'camunda:candidateGroups="{draft_group}"')
            + user_task("review", "검토", 'camunda:candidateGroups="reviewers"')
            + "".join(user_task(task) for task in after_review) + END
            + chain("start", "draft", "review", *after_review, "end"))
    return {"permit.bpmn": bpmn(process("permit", body)),
            "forms/review.json": json.dumps(review_form or FORM)}


def deploy(driver: Driver, tmp_path: Path, version: int, files: dict[str, str], key: str = "permit") -> None:
    driver.deploy(write_folder(tmp_path / f"v{version}", key, files))


def migrate(driver: Driver, key: str, to: int, *, dry_run: bool = False, who: Principal = DESIGNER,
            source: int = 1) -> Migration:
    with driver.database.unit_of_work() as session:
        return commands.migrate_instances(session, driver.ctx, who, key, source, to, dry_run=dry_run)


def version_of(driver: Driver, instance_id: str) -> int:
    with driver.database.unit_of_work() as session:
        instance = session.get(Instance, instance_id)
        assert instance is not None
        return definitions.version_of(session, instance.process_version_id).version


def test_a_case_waiting_at_an_unchanged_task_moves_and_goes_on_along_the_new_diagram(
    driver: Driver, tmp_path: Path
) -> None:
    deploy(driver, tmp_path, 1, permit())
    case = driver.start("permit", {"title": "도로점용 허가"})
    driver.complete(case, "draft")
    task_id = driver.task_id(case, "review")
    with driver.database.unit_of_work() as session:
        commands.claim(session, driver.ctx, REVIEWER, task_id)
    deploy(driver, tmp_path, 2, permit(after_review=("inspect", "sign_off")))

    result = migrate(driver, "permit", 2)

    assert [(m.instance_id, m.moved, m.at) for m in result.moves] == [(case, True, ["review"])]
    assert version_of(driver, case) == 2
    # The same open task, still claimed, still in the reviewer's inbox; the data as it was.
    row = driver.open_task(case, "review")
    assert (row.id, row.claimed_by) == (task_id, "reviewer.kang")
    with driver.database.unit_of_work() as session:
        inbox, _ = worklist.find_tasks(session, REVIEWER, "all")
        assert [t.id for t in inbox] == [task_id]
    assert driver.instance(case).data["title"] == "도로점용 허가"

    driver.complete(case, "review", {"opinion": "적합"})
    assert driver.ready(case) == ["inspect"]
    driver.complete(case, "inspect")
    assert driver.complete(case, "sign_off") == "completed"
    assert driver.completed_elements(case) == ["start", "draft", "review", "inspect", "sign_off", "end"]


def test_the_move_is_on_the_case_trail_and_the_trail_still_verifies(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, 1, permit())
    case = driver.start("permit")
    driver.complete(case, "draft")
    deploy(driver, tmp_path, 2, permit(after_review=("inspect",)))

    migrate(driver, "permit", 2)
    driver.complete(case, "review")

    trail = driver.trail(case)
    moved = next(r for r in trail if r["action"] == MIGRATED)
    assert moved["actor"] == "designer.jung"
    assert moved["detail"]["from"]["version"] == 1 and moved["detail"]["to"]["version"] == 2
    assert moved["detail"]["at"] == ["review"]
    with driver.database.unit_of_work() as session:
        hashes = {v.version: v.hash for v in session.execute(select(ProcessVersion)).scalars()}
    assert moved["process_version"] == hashes[2] == trail[-1]["process_version"]
    assert trail[0]["process_version"] == hashes[1]
    assert driver.verify(case).ok, driver.verify(case).lines()
    assert driver.verify().ok


def test_cases_at_a_changed_or_removed_task_stay_with_the_reason(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, 1, permit())
    at_draft = driver.start("permit")
    at_archive = driver.start("permit")
    driver.complete(at_archive, "draft")
    driver.complete(at_archive, "review")
    at_review = driver.start("permit")
    driver.complete(at_review, "draft")
    deploy(driver, tmp_path, 2, permit(draft_group="clerks", after_review=("sign_off",)))

    result = migrate(driver, "permit", 2)

    reasons = {m.instance_id: m.reasons for m in result.moves}
    assert reasons == {
        at_draft: ["task 'draft' changed: its assignment differs"],
        at_archive: ["task 'archive' is not in version 2"],
        at_review: [],
    }
    assert [m.instance_id for m in result.kept] == [at_draft, at_archive]
    assert (version_of(driver, at_draft), version_of(driver, at_archive), version_of(driver, at_review)) == (1, 1, 2)
    # Those kept go on along the version they started on.
    driver.complete(at_archive, "archive")
    assert driver.instance(at_archive).status == "completed"


def test_a_task_whose_form_changed_keeps_its_case(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, 1, permit())
    case = driver.start("permit")
    driver.complete(case, "draft")
    other_form = {"schema": {"type": "object", "properties": {"opinion": {"type": "integer"}}}}
    deploy(driver, tmp_path, 2, permit(review_form=other_form))

    (move,) = migrate(driver, "permit", 2).moves

    assert move.reasons == ["task 'review' changed: its form differs"]


def test_a_dry_run_says_what_would_happen_and_changes_nothing(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, 1, permit())
    case = driver.start("permit")
    driver.complete(case, "draft")
    kept = driver.start("permit")
    deploy(driver, tmp_path, 2, permit(draft_group="clerks", after_review=("sign_off",)))
    before = driver.instance(case)
    state, seq = before.state, before.audit_seq

    result = migrate(driver, "permit", 2, dry_run=True)

    assert result.dry_run and [m.instance_id for m in result.moved] == [case]
    assert [m.instance_id for m in result.kept] == [kept]
    after = driver.instance(case)
    assert (after.state, after.audit_seq, version_of(driver, case)) == (state, seq, 1)
    assert MIGRATED not in [r["action"] for r in driver.trail(case)]
    # ... and what it said is what then happens.
    assert [m.instance_id for m in migrate(driver, "permit", 2).moved] == [case]


def test_a_case_waiting_on_a_timer_moves_and_its_timer_still_fires(
    timed: Driver, clock: MovableClock, tmp_path: Path
) -> None:
    def week(follow_up: str, duration: str = "P7D") -> dict[str, str]:
        body = (START + '<bpmn:intermediateCatchEvent id="wait_week"><bpmn:timerEventDefinition id="td">'
                f"<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"
                "</bpmn:intermediateCatchEvent>" + user_task(follow_up) + END
                + chain("start", "wait_week", follow_up, "end"))
        return {"week.bpmn": bpmn(process("week", body))}

    worker = Worker(timed.database, timed.ctx, Settings(var_dir=tmp_path / "var", audit_key="test-audit-key"))
    deploy(timed, tmp_path, 1, week("follow_up"), key="week")
    case = timed.start("week")
    with timed.database.unit_of_work() as session:
        due = session.execute(select(Timer.due_at).where(Timer.instance_id == case)).scalar_one()
    deploy(timed, tmp_path, 2, week("call_back"), key="week")
    deploy(timed, tmp_path, 3, week("call_back", "P3D"), key="week")
    clock.advance(days=2)

    (refused,) = migrate(timed, "week", 3).moves
    assert refused.reasons == ["waiting on a timer ('wait_week') whose definition changed"]
    (moved,) = migrate(timed, "week", 2).moves
    assert moved.moved

    with timed.database.unit_of_work() as session:  # the timer is set for the moment it was set for
        assert session.execute(select(Timer.due_at).where(Timer.instance_id == case)).scalar_one() == due
    clock.advance(days=4)
    assert worker.drain().timers == 0
    clock.advance(days=1, seconds=1)
    assert worker.drain().timers == 1
    assert timed.ready(case) == ["call_back"]
    assert timed.complete(case, "call_back") == "completed"
    assert timed.verify(case).ok


def test_a_case_waiting_for_a_message_moves_and_the_message_still_reaches_it(driver: Driver, tmp_path: Path) -> None:
    def confirmed(after: str, message: str = "citizen_confirmed") -> dict[str, str]:
        body = (START + '<bpmn:intermediateCatchEvent id="confirmation">'
                f'<bpmn:messageEventDefinition id="md" messageRef="{message}"/></bpmn:intermediateCatchEvent>'
                + user_task(after) + END + chain("start", "confirmation", after, "end"))
        return {"field.bpmn": bpmn(process("field", body), extra=f'<bpmn:message id="{message}" name="{message}"/>')}

    deploy(driver, tmp_path, 1, confirmed("close"), key="field")
    case = driver.start("field", {"report_id": 7})
    deploy(driver, tmp_path, 2, confirmed("close", message="citizen_answered"), key="field")
    deploy(driver, tmp_path, 3, confirmed("thank_citizen"), key="field")

    (kept,) = migrate(driver, "field", 2).moves
    assert kept.reasons == ["waiting on a message ('confirmation') whose definition changed"]
    assert migrate(driver, "field", 3).moves[0].moved
    assert driver.count(MessageWait, instance_id=case) == 1

    with driver.database.unit_of_work() as session:
        delivery = deliver_message(session, driver.ctx, "citizen_confirmed", {"report_id": 7}, {"rating": 5})
    assert delivery.delivered == [case]
    assert driver.ready(case) == ["thank_citizen"]
    assert driver.instance(case).data["rating"] == 5


def test_a_case_with_a_boundary_timer_keeps_its_task_and_its_timer(
    timed: Driver, clock: MovableClock, tmp_path: Path
) -> None:
    def reminded(after: str) -> dict[str, str]:
        body = (START + user_task("review") + '<bpmn:boundaryEvent id="late" attachedToRef="review" '
                'cancelActivity="false"><bpmn:timerEventDefinition id="td"><bpmn:timeDuration>P3D'
                "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
                + user_task("remind") + '<bpmn:endEvent id="remind_end"/>' + user_task(after) + END
                + chain("start", "review", after, "end") + chain("late", "remind", "remind_end"))
        return {"reminded.bpmn": bpmn(process("reminded", body))}

    worker = Worker(timed.database, timed.ctx, Settings(var_dir=tmp_path / "var", audit_key="test-audit-key"))
    deploy(timed, tmp_path, 1, reminded("archive"), key="reminded")
    case = timed.start("reminded")
    task_id = timed.task_id(case, "review")
    deploy(timed, tmp_path, 2, reminded("publish"), key="reminded")

    (move,) = migrate(timed, "reminded", 2).moves

    assert move.moved and move.at == ["late", "review"]
    assert timed.task_id(case, "review") == task_id
    clock.advance(days=3, seconds=1)
    assert worker.drain().timers == 1
    assert timed.ready(case) == ["remind", "review"]
    timed.complete(case, "remind")
    timed.complete(case, "review")
    assert timed.ready(case) == ["publish"]
    assert timed.complete(case, "publish") == "completed"
    assert timed.verify(case).ok


def test_a_case_inside_a_running_sub_process_moves_when_its_inner_task_is_unchanged(
    driver: Driver, tmp_path: Path
) -> None:
    def nested(after: str, inner_group: str = "surveyors") -> dict[str, str]:
        inner = ('<bpmn:startEvent id="inner_start"/>'
                 + user_task("inspect", attrs=f'camunda:candidateGroups="{inner_group}"')
                 + '<bpmn:endEvent id="inner_end"/>')
        body = (START + f'<bpmn:subProcess id="field_survey">{inner}{chain("inner_start", "inspect", "inner_end")}'
                "</bpmn:subProcess>" + user_task(after) + END + chain("start", "field_survey", after, "end"))
        return {"survey.bpmn": bpmn(process("survey", body))}

    deploy(driver, tmp_path, 1, nested("report"), key="survey")
    case = driver.start("survey")
    deploy(driver, tmp_path, 2, nested("publish", inner_group="inspectors"), key="survey")
    deploy(driver, tmp_path, 3, nested("publish"), key="survey")

    (kept,) = migrate(driver, "survey", 2).moves
    assert kept.reasons == ["task 'inspect' changed: its assignment differs"]
    (moved,) = migrate(driver, "survey", 3).moves
    assert moved.moved and moved.at == ["field_survey", "inspect"]

    driver.complete(case, "inspect")
    assert driver.ready(case) == ["publish"]
    assert driver.complete(case, "publish") == "completed"
    assert driver.verify(case).ok


def test_a_case_with_one_branch_done_moves_and_its_join_still_waits_for_the_other(
    driver: Driver, tmp_path: Path
) -> None:
    def parallel(after: str) -> dict[str, str]:
        body = (START + '<bpmn:parallelGateway id="fork"/>' + user_task("legal") + user_task("budget")
                + '<bpmn:parallelGateway id="join"/>' + user_task(after) + END
                + chain("start", "fork", "legal", "join", after, "end") + chain("fork", "budget", "join"))
        return {"joint.bpmn": bpmn(process("joint", body))}

    deploy(driver, tmp_path, 1, parallel("archive"), key="joint")
    case = driver.start("joint")
    driver.complete(case, "legal")
    deploy(driver, tmp_path, 2, parallel("publish"), key="joint")

    (move,) = migrate(driver, "joint", 2).moves

    assert move.moved and move.at == ["budget", "join"]
    assert driver.ready(case) == ["budget"]
    driver.complete(case, "budget")
    assert driver.ready(case) == ["publish"]
    assert driver.complete(case, "publish") == "completed"


def test_only_designers_and_admins_move_cases(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, 1, permit())
    deploy(driver, tmp_path, 2, permit(after_review=("sign_off",)))
    with pytest.raises(NotAllowed, match="only a process designer or an admin may move running cases"):
        migrate(driver, "permit", 2, who=REVIEWER)
    with pytest.raises(InvalidInput):
        migrate(driver, "permit", 1)
    admin = Principal("ops.admin", "운영", frozenset({"admin"}), frozenset())
    assert migrate(driver, "permit", 2, who=admin).moves == []


def test_open_tasks_of_a_renamed_task_show_the_new_name(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, 1, permit())
    case = driver.start("permit")
    driver.complete(case, "draft")
    renamed = permit()
    renamed["permit.bpmn"] = renamed["permit.bpmn"].replace('name="검토"', 'name="검토 및 의견"')
    deploy(driver, tmp_path, 2, renamed)

    migrate(driver, "permit", 2)

    with driver.database.unit_of_work() as session:
        names = session.execute(select(OpenTask.name).where(OpenTask.instance_id == case)).scalars().all()
    assert names == ["검토 및 의견"]
