"""Time and the outside world: timers on a moved clock, messages, service handlers, the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import handlers, instances, notifications
from engine.clock import MovableClock
from engine.config import Settings
from engine.context import EngineContext
from engine.demo import seed_organisation
from engine.models import Job, Notification, OpenTask, Timer
from engine.worker import MessageUnmatched, Worker, deliver_message, incidents, retry_incident
from tests.engine.helpers import Driver, bpmn, chain, process, user_task, write_folder

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'


def timer(kind: str, text: str) -> str:
    return f'<bpmn:timerEventDefinition id="td_{kind}"><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>'


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


@pytest.fixture
def worker(timed: Driver, tmp_path: Path) -> Worker:
    settings = Settings(var_dir=tmp_path / "var", audit_key="test-audit-key")
    return Worker(timed.database, timed.ctx, settings)


def deploy(driver: Driver, tmp_path: Path, key: str, body: str) -> None:
    driver.deploy(write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body))}))


def test_an_intermediate_timer_written_plainly_fires_when_the_clock_passes_it(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    body = (START + f'<bpmn:intermediateCatchEvent id="wait_week">{timer("timeDuration", "P7D")}</bpmn:intermediateCatchEvent>'
            + user_task("follow_up") + END + chain("start", "wait_week", "follow_up", "end"))
    deploy(timed, tmp_path, "week", body)
    instance = timed.start("week")
    assert timed.ready(instance) == []
    assert timed.count(Timer, instance_id=instance) == 1
    clock.advance(days=6)
    assert worker.drain().timers == 0
    clock.advance(days=1, seconds=1)
    assert worker.drain().timers == 1
    assert timed.ready(instance) == ["follow_up"]
    trail = timed.trail(instance)
    fired = next(r for r in trail if r["action"] == "timer.fired")
    assert fired["actor"] == "system:timer"
    assert fired["detail"]["due_at"].startswith("2026-12-08T00:00:00")
    assert any(r["element_id"] == "wait_week" and r["action"] == "task.completed" and r["actor"] == "system:timer"
               for r in trail)
    assert timed.count(Timer, instance_id=instance) == 0
    assert worker.drain().timers == 0  # fired once only


def test_an_interrupting_boundary_timer_withdraws_the_task_and_escalates(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    body = (START + user_task("respond") + END + '<bpmn:endEvent id="escalated_end"/>' + user_task("escalate")
            + f'<bpmn:boundaryEvent id="two_hours" attachedToRef="respond">{timer("timeDuration", "PT2H")}</bpmn:boundaryEvent>'
            + chain("start", "respond", "end") + chain("two_hours", "escalate", "escalated_end"))
    deploy(timed, tmp_path, "deadline", body)
    instance = timed.start("deadline")
    clock.advance(hours=2, minutes=1)
    assert worker.drain().timers == 1
    assert timed.ready(instance) == ["escalate"]
    cancelled = [r for r in timed.trail(instance) if r["action"] == "task.cancelled"]
    assert [r["element_id"] for r in cancelled] == ["respond"]


def test_a_non_interrupting_cycle_reminds_while_the_task_stays_open(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    body = (START + user_task("respond") + END + user_task("remind") + '<bpmn:endEvent id="reminded"/>'
            + f'<bpmn:boundaryEvent id="daily" attachedToRef="respond" cancelActivity="false">{timer("timeCycle", "R2/P1D")}</bpmn:boundaryEvent>'
            + chain("start", "respond", "end") + chain("daily", "remind", "reminded"))
    deploy(timed, tmp_path, "reminders", body)
    instance = timed.start("reminders")
    for day in (1, 2):
        clock.advance(days=1, seconds=1)
        assert worker.drain().timers == 1, day
        assert timed.ready(instance).count("remind") == day
        assert "respond" in timed.ready(instance)
    clock.advance(days=5)
    assert worker.drain().timers == 0
    # Reaching the end event ends the instance; reminders still open are withdrawn with it.
    assert timed.complete(instance, "respond") == "completed"
    assert timed.ready(instance) == []
    assert timed.count(Timer, instance_id=instance) == 0


def test_a_timer_computed_from_a_deadline_in_the_data(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    body = (START + f'<bpmn:intermediateCatchEvent id="until_deadline">{timer("timeDate", "deadline")}'
            "</bpmn:intermediateCatchEvent>" + user_task("check") + END + chain("start", "until_deadline", "check", "end"))
    deploy(timed, tmp_path, "deadline_data", body)
    instance = timed.start("deadline_data", {"deadline": (T0 + timedelta(days=3)).isoformat()})
    clock.advance(days=2)
    assert worker.drain().timers == 0
    clock.advance(days=1)
    assert worker.drain().timers == 1
    assert timed.ready(instance) == ["check"]


def test_a_process_with_a_timer_start_starts_itself_on_schedule(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    body = (f'<bpmn:startEvent id="each_quarter">{timer("timeCycle", "R2/P3M")}</bpmn:startEvent>'
            + user_task("report") + END + chain("each_quarter", "report", "end"))
    with timed.database.unit_of_work() as session:
        from engine import definitions

        folder = write_folder(tmp_path, "quarterly", {"q.bpmn": bpmn(process("quarterly", body))})
        definitions.deploy(session, definitions.check(definitions.read_source(folder)), "designer", now=clock())
    assert worker.drain().starts == 0
    clock.advance(days=92)
    assert worker.drain().starts == 1
    clock.advance(days=92)
    assert worker.drain().starts == 1
    clock.advance(days=365)
    assert worker.drain().starts == 0
    with timed.database.unit_of_work() as session:
        tasks = session.execute(select(OpenTask).where(OpenTask.element_id == "report")).scalars().all()
        assert len(tasks) == 2
        started = instances.get_instance(session, tasks[0].instance_id)
        assert started.initiator == "system:timer"


MESSAGE_WAIT = (
    START + user_task("report") + '<bpmn:intermediateCatchEvent id="confirmation">'
    '<bpmn:messageEventDefinition id="md" messageRef="citizen_confirmed"/></bpmn:intermediateCatchEvent>'
    + user_task("close") + END + chain("start", "report", "confirmation", "close", "end")
)
MESSAGE = '<bpmn:message id="citizen_confirmed" name="citizen_confirmed"/>'


def test_a_message_reaches_only_the_instance_it_correlates_with(timed: Driver, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, "field", {"f.bpmn": bpmn(process("field", MESSAGE_WAIT), extra=MESSAGE)})
    timed.deploy(folder)
    first = timed.start("field", {"report_id": 1})
    second = timed.start("field", {"report_id": 2})
    for instance in (first, second):
        timed.complete(instance, "report")
    with timed.database.unit_of_work() as session:
        delivery = deliver_message(session, timed.ctx, "citizen_confirmed", {"report_id": 2}, {"rating": 5})
    assert delivery.delivered == [second]
    assert timed.ready(second) == ["close"]
    assert timed.instance(second).data["rating"] == 5
    assert timed.ready(first) == []
    received = next(r for r in timed.trail(second) if r["action"] == "message.received")
    assert received["changes"] == {"rating": [None, 5]}

    with pytest.raises(MessageUnmatched), timed.database.unit_of_work() as session:
        deliver_message(session, timed.ctx, "citizen_confirmed", {"report_id": 99})
    with timed.database.unit_of_work() as session:
        from engine import audit

        assert [r["action"] for r in audit.records(session, "system")][-1] == "message.unmatched"


def test_a_message_start_event_starts_a_new_instance(timed: Driver, tmp_path: Path) -> None:
    body = ('<bpmn:startEvent id="received"><bpmn:messageEventDefinition id="m" messageRef="report_filed"/>'
            "</bpmn:startEvent>" + user_task("triage") + END + chain("received", "triage", "end"))
    extra = '<bpmn:message id="report_filed" name="report_filed"/>'
    timed.deploy(write_folder(tmp_path, "intake", {"i.bpmn": bpmn(process("intake", body), extra=extra)}))
    with timed.database.unit_of_work() as session:
        delivery = deliver_message(session, timed.ctx, "report_filed", {"report_id": 7}, {"category": "도로"})
    (started,) = delivery.started
    assert timed.ready(started) == ["triage"]
    assert timed.instance(started).data["category"] == "도로"


def service(handler: str, params: str = "") -> str:
    return (f'<bpmn:serviceTask id="call" camunda:delegateExpression="${{{handler}}}">'
            f"<bpmn:extensionElements><camunda:inputOutput>{params}</camunda:inputOutput></bpmn:extensionElements>"
            "</bpmn:serviceTask>")


@pytest.fixture
def flaky() -> Any:
    calls: list[int] = []

    def handler(call: handlers.HandlerCall) -> dict[str, Any]:
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("the archive did not answer")
        return {"archived_as": f"DOC-{call.params['prefix']}-{len(calls)}"}

    handlers.register("flaky_archive", handler)
    yield calls
    handlers.unregister("flaky_archive")


def test_a_handler_failing_twice_then_succeeding_completes_the_task(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path, flaky: list[int]
) -> None:
    body = (START + service("flaky_archive", '<camunda:inputParameter name="prefix">R</camunda:inputParameter>')
            + user_task("after") + END + chain("start", "call", "after", "end"))
    deploy(timed, tmp_path, "archive", body)
    instance = timed.start("archive")
    assert worker.drain().retries == 1
    clock.advance(seconds=31)
    assert worker.drain().retries == 1
    clock.advance(seconds=61)
    assert worker.drain().jobs == 1
    assert timed.ready(instance) == ["after"]
    assert timed.instance(instance).data["archived_as"] == "DOC-R-3"
    actions = [r["action"] for r in timed.trail(instance) if r["action"].startswith("job.")]
    assert actions == ["job.failed", "job.failed", "job.completed"]


def test_a_handler_failing_always_becomes_an_incident_that_an_admin_retries(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    handlers.register("broken_archive", lambda call: 1 / 0)
    try:
        deploy(timed, tmp_path, "broken", START + service("broken_archive") + user_task("after") + END
               + chain("start", "call", "after", "end"))
        instance = timed.start("broken")
        for _ in range(3):
            worker.drain()
            clock.advance(minutes=5)
        with timed.database.unit_of_work() as session:
            (incident,) = incidents(session, instance)
            assert incident.attempts == 3
            assert "ZeroDivisionError" in (incident.last_error or "")
        assert worker.drain().jobs == 0
        handlers.register("broken_archive", lambda call: {"fixed": True})
        with timed.database.unit_of_work() as session:
            retry_incident(session, timed.ctx, incident.id, "admin")
        assert worker.drain().jobs == 1
        assert timed.instance(instance).data["fixed"] is True
        actions = [r["action"] for r in timed.trail(instance) if r["action"].startswith("job.")]
        assert actions == ["job.failed", "job.failed", "job.incident", "job.retried", "job.completed"]
    finally:
        handlers.unregister("broken_archive")


def test_the_notify_handler_tells_every_member_of_a_group(
    timed: Driver, worker: Worker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    from engine import identity

    monkeypatch.setattr(identity, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    with timed.database.unit_of_work() as session:
        seed_organisation(session)
    params = ('<camunda:inputParameter name="group">도로과</camunda:inputParameter>'
              '<camunda:inputParameter name="title">${"민원 접수: " + title}</camunda:inputParameter>')
    deploy(timed, tmp_path, "tell", START + service("notify", params) + END + chain("start", "call", "end"))
    instance = timed.start("tell", {"title": "포트홀"})
    assert worker.drain().jobs == 1
    assert timed.instance(instance).status == "completed"
    with timed.database.unit_of_work() as session:
        told = session.execute(select(Notification.username, Notification.title)).all()
        assert sorted(u for u, _ in told) == ["roads.chief", "roads.lead", "roads.staff"]
        assert {t for _, t in told} == {"민원 접수: 포트홀"}
        assert notifications.unread_count(session, "roads.staff") == 1


def test_a_user_task_due_date_is_set_from_the_model(timed: Driver, clock: MovableClock, tmp_path: Path) -> None:
    body = START + user_task("answer", attrs='camunda:dueDate="P3D"') + END + chain("start", "answer", "end")
    deploy(timed, tmp_path, "due", body)
    instance = timed.start("due")
    due = timed.open_task(instance, "answer").due_at
    assert due is not None
    assert due.replace(tzinfo=UTC) == T0 + timedelta(days=3)


def test_jobs_and_timers_survive_a_reload_between_steps(timed: Driver, worker: Worker, clock: MovableClock,
                                                         tmp_path: Path) -> None:
    body = (START + f'<bpmn:intermediateCatchEvent id="pause">{timer("timeDuration", "PT1H")}</bpmn:intermediateCatchEvent>'
            + service("set_due_date", '<camunda:inputParameter name="days">2</camunda:inputParameter>')
            + user_task("work") + END + chain("start", "pause", "call", "work", "end"))
    deploy(timed, tmp_path, "pipeline", body)
    instance = timed.start("pipeline")
    fresh = Worker(timed.database, EngineContext.create(clock=clock), worker.settings)  # a new process, as it were
    clock.advance(hours=1, seconds=1)
    assert fresh.drain().timers == 1
    assert timed.count(Job, instance_id=instance) == 0  # the handler ran in the same pass
    assert timed.instance(instance).data["due_at"].startswith("2026-12-03T01:00:01")
    assert timed.ready(instance) == ["work"]
