"""Diagrams as designers draw them in Camunda Modeler, bpmn.io or Flowable run as BPMN and Camunda 7 run them,
or are refused at validate with a named problem: never accepted and then run some other way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import commands, definitions, handlers, instances
from engine.clock import MovableClock
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.errors import InvalidInput, NotAllowed, ProcessNotFound
from engine.identity import Principal
from engine.models import Instance
from engine.worker import Worker, deliver_message
from tests.engine.helpers import Driver, bpmn, chain, flow, process, script_task, user_task, write_folder

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
START, END = '<bpmn:startEvent id="start"/>', '<bpmn:endEvent id="end"/>'
PAID = '<bpmn:message id="m_paid" name="paid"/>'
RACE = (
    START + '<bpmn:eventBasedGateway id="gw"/>'
    '<bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="m_paid"/>'
    "</bpmn:intermediateCatchEvent>"
    '<bpmn:intermediateCatchEvent id="late"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
    "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    + user_task("thank") + user_task("remind") + '<bpmn:endEvent id="end_paid"/><bpmn:endEvent id="end_late"/>'
    + chain("start", "gw", "paid", "thank", "end_paid") + chain("gw", "late", "remind", "end_late")
)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


@pytest.fixture
def worker(timed: Driver, tmp_path: Path) -> Worker:
    return Worker(timed.database, timed.ctx, Settings(var_dir=tmp_path / "var", audit_key="test-audit-key"))


def deploy(driver: Driver, tmp_path: Path, key: str, body: str, extra: str = "", name: str = "") -> None:
    driver.deploy(write_folder(tmp_path, key, {name or f"{key}.bpmn": bpmn(process(key, body), extra=extra)}))


def problems(tmp_path: Path, key: str, body: str) -> list[str]:
    folder = write_folder(tmp_path, key, {f"{key}.bpmn": bpmn(process(key, body))})
    return [f"{p.code}: {p.message}" for p in definitions.check(definitions.read_source(folder)).problems]


def completed(driver: Driver, instance: str) -> list[str]:
    return driver.completed_elements(instance)


# -- an event-based gateway follows the first event, once ----------------------------------------------


def test_a_message_delivered_after_the_timer_was_due_but_before_it_fired_wins_alone(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    deploy(timed, tmp_path, "race", RACE, PAID)
    instance = timed.start("race")
    clock.advance(hours=2)  # the timer is due, but the worker has not run yet
    with timed.database.unit_of_work() as session:
        deliver_message(session, timed.ctx, "paid", {})
    assert timed.ready(instance) == ["thank"]
    assert worker.drain().timers == 0
    assert timed.ready(instance) == ["thank"]
    timed.complete(instance, "thank")
    assert timed.instance(instance).status == "completed"
    assert "late" not in completed(timed, instance) and "end_late" not in completed(timed, instance)
    assert timed.verify(instance).ok


def test_a_timer_that_fired_first_wins_and_the_late_message_finds_nobody_waiting(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    deploy(timed, tmp_path, "race", RACE, PAID)
    instance = timed.start("race")
    clock.advance(hours=2)
    assert worker.drain().timers == 1
    assert timed.ready(instance) == ["remind"]
    with pytest.raises(Exception, match="no instance waits for message 'paid'"), \
            timed.database.unit_of_work() as session:
        deliver_message(session, timed.ctx, "paid", {})
    assert timed.ready(instance) == ["remind"]
    assert "paid" not in completed(timed, instance)


# -- what Camunda's files say, read as Camunda reads it ------------------------------------------------


def test_sequence_flows_without_ids_are_followed_as_drawn(driver: Driver, tmp_path: Path) -> None:
    body = (START + user_task("draft") + script_task("count", "pages = 3") + END
            + '<bpmn:sequenceFlow sourceRef="start" targetRef="draft"/>'
            '<bpmn:sequenceFlow sourceRef="draft" targetRef="count"/>'
            '<bpmn:sequenceFlow sourceRef="count" targetRef="end"/>')
    deploy(driver, tmp_path, "memo", body)
    instance = driver.start("memo")
    assert driver.instance(instance).status == "running" and driver.ready(instance) == ["draft"]
    driver.complete(instance, "draft", {"title": "예산"})
    assert completed(driver, instance) == ["start", "draft", "count", "end"]
    assert driver.instance(instance).data["pages"] == 3


def test_a_multi_instance_item_named_by_name_gives_each_instance_its_item(driver: Driver, tmp_path: Path) -> None:
    body = (START + '<bpmn:userTask id="review" name="검토" camunda:assignee="${assignee}">'
            '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>'
            '<bpmn:inputDataItem name="assignee"/></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>'
            + END + chain("start", "review", "end"))
    deploy(driver, tmp_path, "reviews", body)
    instance = driver.start("reviews", {"reviewers": ["kim", "lee"]})
    with driver.database.unit_of_work() as session:
        assignees = sorted(t.assignee or "" for t in instances.open_tasks(session, instance_id=instance))
    assert assignees == ["kim", "lee"]
    assert "null" not in driver.instance(instance).data


def test_camunda_collection_and_element_variable_run_one_task_per_person(driver: Driver, tmp_path: Path) -> None:
    body = (START + '<bpmn:userTask id="concur" name="협조" camunda:assignee="${concurrer}">'
            '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${concurrers}" '
            'camunda:elementVariable="concurrer"/></bpmn:userTask>'
            + user_task("approve") + END + chain("start", "concur", "approve", "end"))
    deploy(driver, tmp_path, "concurrence", body)
    instance = driver.start("concurrence", {"concurrers": ["park", "choi", "jung"]})
    with driver.database.unit_of_work() as session:
        offered = sorted(t.assignee or "" for t in instances.open_tasks(session, instance_id=instance))
    assert offered == ["choi", "jung", "park"]
    for task in (t for t in ("concur",) for _ in range(3)):
        with driver.database.unit_of_work() as session:
                first = next(t for t in instances.open_tasks(session, instance_id=instance) if t.element_id == task)
        with driver.database.unit_of_work() as session:
            instances.complete_task(session, driver.ctx, first.id, {}, first.assignee or "staff")
    assert driver.ready(instance) == ["approve"]


def test_a_collection_that_is_no_variable_is_refused_by_name(tmp_path: Path) -> None:
    body = (START + '<bpmn:userTask id="concur"><bpmn:multiInstanceLoopCharacteristics '
            'camunda:collection="${approvers.split(&quot;,&quot;)}" camunda:elementVariable="a"/></bpmn:userTask>'
            + END + chain("start", "concur", "end"))
    found = problems(tmp_path, "bad", body)
    assert len(found) == 1 and found[0].startswith("BAD_COLLECTION: concur: camunda:collection")


def test_a_manual_task_is_done_outside_the_engine_and_passes_through(driver: Driver, tmp_path: Path) -> None:
    body = (START + '<bpmn:manualTask id="post_notice" name="게시판 공고"/>' + user_task("confirm") + END
            + chain("start", "post_notice", "confirm", "end"))
    deploy(driver, tmp_path, "notice", body)
    instance = driver.start("notice")
    assert driver.ready(instance) == ["confirm"]
    assert completed(driver, instance) == ["start", "post_notice"]


def test_data_stores_and_data_objects_drawn_for_the_reader_do_not_stop_the_process(
    driver: Driver, tmp_path: Path
) -> None:
    body = (  # as Camunda Modeler writes the associations, with its placeholder property
        START + '<bpmn:dataStoreReference id="ledger_ref" dataStoreRef="ledger"/>'
        '<bpmn:dataObjectReference id="invoice_ref" dataObjectRef="invoice"/><bpmn:dataObject id="invoice"/>'
        '<bpmn:userTask id="check" name="check"><bpmn:property id="p1" name="__targetRef_placeholder"/>'
        '<bpmn:dataInputAssociation id="in1"><bpmn:sourceRef>invoice_ref</bpmn:sourceRef>'
        "<bpmn:targetRef>p1</bpmn:targetRef></bpmn:dataInputAssociation></bpmn:userTask>"
        '<bpmn:scriptTask id="book" name="book" scriptFormat="python"><bpmn:dataOutputAssociation id="out1">'
        "<bpmn:targetRef>ledger_ref</bpmn:targetRef></bpmn:dataOutputAssociation>"
        '<bpmn:dataOutputAssociation id="out2"><bpmn:targetRef>invoice_ref</bpmn:targetRef>'
        "</bpmn:dataOutputAssociation><bpmn:script>invoice = amount</bpmn:script></bpmn:scriptTask>"
        + user_task("approve") + END + chain("start", "check", "book", "approve", "end")
    )
    extra = '<bpmn:dataStore id="ledger" name="회계 시스템"/>'
    deploy(driver, tmp_path, "invoices", body, extra)
    instance = driver.start("invoices", {"amount": 120000})
    driver.complete(instance, "check")  # reads the data object before anything wrote it
    assert driver.ready(instance) == ["approve"]
    assert driver.instance(instance).data["invoice"] == 120000  # written, and still there for the next task


def test_an_activity_with_two_plain_outgoing_flows_starts_both(driver: Driver, tmp_path: Path) -> None:
    body = (START + user_task("receive") + user_task("notify_dept") + user_task("notify_citizen")
            + '<bpmn:parallelGateway id="join"/>' + END
            + chain("start", "receive") + flow("a", "receive", "notify_dept") + flow("b", "receive", "notify_citizen")
            + chain("notify_dept", "join") + chain("notify_citizen", "join") + chain("join", "end"))
    deploy(driver, tmp_path, "fork", body)
    instance = driver.start("fork")
    driver.complete(instance, "receive")
    assert driver.ready(instance) == ["notify_citizen", "notify_dept"]


def test_conditional_flows_out_of_an_activity_take_those_whose_condition_holds(driver: Driver, tmp_path: Path) -> None:
    body = (START + user_task("receive") + user_task("urgent") + user_task("file") + END
            + '<bpmn:endEvent id="end2"/>' + chain("start", "receive")
            + flow("a", "receive", "urgent", "${priority == 'high'}") + flow("b", "receive", "file")
            + chain("urgent", "end") + chain("file", "end2"))
    deploy(driver, tmp_path, "conditional", body)
    low, high = driver.start("conditional"), driver.start("conditional")
    driver.complete(low, "receive", {"priority": "low"})
    driver.complete(high, "receive", {"priority": "high"})
    assert driver.ready(low) == ["file"]
    assert driver.ready(high) == ["file", "urgent"]


def test_a_sub_process_drawn_without_a_start_event_starts_what_no_flow_leads_to(driver: Driver, tmp_path: Path) -> None:
    body = (START + '<bpmn:subProcess id="inspect">' + user_task("measure") + user_task("photograph")
            + "</bpmn:subProcess>" + user_task("report") + END + chain("start", "inspect", "report", "end"))
    deploy(driver, tmp_path, "inspection", body)
    instance = driver.start("inspection")
    assert driver.ready(instance) == ["measure", "photograph"]
    driver.complete(instance, "measure")
    driver.complete(instance, "photograph")
    assert driver.ready(instance) == ["report"]


def test_an_exclusive_gateways_flow_without_a_condition_is_taken_when_reached(driver: Driver, tmp_path: Path) -> None:
    body = (START + '<bpmn:exclusiveGateway id="gw"/>' + user_task("escalate") + user_task("handle") + END
            + '<bpmn:endEvent id="end2"/>' + chain("start", "gw")
            + flow("a", "gw", "escalate", "${amount > 1000000}") + flow("b", "gw", "handle")
            + chain("escalate", "end") + chain("handle", "end2"))
    deploy(driver, tmp_path, "route", body)
    big, small = driver.start("route", {"amount": 5000000}), driver.start("route", {"amount": 10})
    assert driver.ready(big) == ["escalate"]
    assert driver.ready(small) == ["handle"]


def test_a_flowable_file_named_bpmn20_xml_is_read_and_keyed_by_its_name(driver: Driver, tmp_path: Path) -> None:
    folder = tmp_path / "flowable"
    folder.mkdir()
    (folder / "leave.bpmn20.xml").write_text(bpmn(process("leave", START + user_task("approve") + END
                                                            + chain("start", "approve", "end"))), encoding="utf-8")
    single = definitions.read_source(folder / "leave.bpmn20.xml")
    assert single.key == "leave" and list(single.files) == ["leave.bpmn20.xml"]
    assert definitions.process_folders(tmp_path) == [folder]
    driver.deploy(folder)
    assert driver.ready(driver.start("flowable")) == ["approve"]


@pytest.mark.parametrize(("body", "expected"), [
    (START + '<bpmn:subProcess id="later" name="나중에"/>' + END + chain("start", "later", "end"),
     "EMPTY_SUBPROCESS: 나중에: the sub-process holds nothing to do"),
    (START + '<bpmn:exclusiveGateway id="gw" default="b"/>' + user_task("x") + END
     + '<bpmn:sequenceFlow id="a" name="예" sourceRef="gw" targetRef="x">'
       '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"/></bpmn:sequenceFlow>'
     + flow("b", "gw", "end") + chain("start", "gw") + chain("x", "end"),
     "EMPTY_CONDITION: 예: the flow's condition is empty"),
    (START + '<bpmn:intermediateCatchEvent id="wait" name="1주"><bpmn:timerEventDefinition/>'
             "</bpmn:intermediateCatchEvent>" + END + chain("start", "wait", "end"),
     "BAD_TIMER: 1주: the timer does not say when"),
], ids=["empty-sub-process", "empty-condition", "timer-without-time"])
def test_what_cannot_run_as_drawn_is_refused_by_name_at_its_element(tmp_path: Path, body: str, expected: str) -> None:
    found = problems(tmp_path, "drawn", body)
    assert len(found) == 1 and found[0].startswith(expected), found


# -- a process started by its BPMN process id --------------------------------------------------------


def test_a_process_starts_by_its_bpmn_process_id_as_camunda_users_start_it(database: Database, tmp_path: Path) -> None:
    driver = Driver(database, EngineContext.create(script_time_limit=1.0))
    body = START + user_task("approve") + END + chain("start", "approve", "end")
    driver.deploy(write_folder(tmp_path, "leave", {"휴가.bpmn": bpmn(process("Process_leave_request", body))}))
    staff = Principal(username="kim", display_name="김주무관", roles=frozenset({"staff"}), groups=frozenset())
    with database.unit_of_work() as session:
        started = commands.start(session, driver.ctx, staff, "Process_leave_request", {"days": 2})
        assert started.process_key == "leave"
    assert driver.ready(started.id) == ["approve"]
    driver.deploy(write_folder(tmp_path, "leave_copy", {"copy.bpmn": bpmn(process("Process_leave_request", body))}))
    with pytest.raises(ProcessNotFound, match="several processes start with the BPMN process "
                                              "'Process_leave_request' \\(leave, leave_copy\\)"), \
            database.unit_of_work() as session:
        commands.start(session, driver.ctx, staff, "Process_leave_request", {})
    with pytest.raises(ProcessNotFound, match="no process 'nothing_like_it'"), database.unit_of_work() as session:
        commands.start(session, driver.ctx, staff, "nothing_like_it", {})


# -- JUEL's date arithmetic, as designers write due dates -----------------------------------------------


def test_a_due_date_written_as_joda_date_arithmetic_is_due_when_it_says(
    timed: Driver, clock: MovableClock, tmp_path: Path
) -> None:
    clock.set(datetime(2027, 1, 31, 1, 0, tzinfo=UTC))  # 10:00 on 31 January in Suwon
    body = (START + '<bpmn:userTask id="review" camunda:dueDate="${dateTime().plusDays(2).toDate()}"/>'
            '<bpmn:userTask id="report" camunda:dueDate="${dateTime().plusMonths(1).minusHours(1)}"/>'
            '<bpmn:parallelGateway id="fork"/>' + '<bpmn:parallelGateway id="join"/>' + END
            + chain("start", "fork", "review", "join", "end") + chain("fork", "report", "join"))
    deploy(timed, tmp_path, "due", body)
    instance = timed.start("due")
    assert timed.instance(instance).status == "running"
    assert timed.open_task(instance, "review").due_at == datetime(2027, 2, 2, 1, 0, tzinfo=UTC)
    # a month on from 31 January is the last day of February, an hour earlier
    assert timed.open_task(instance, "report").due_at == datetime(2027, 2, 28, 0, 0, tzinfo=UTC)


def test_date_arithmetic_outside_the_subset_is_refused_at_validate_by_name(tmp_path: Path) -> None:
    body = (START + '<bpmn:userTask id="review" name="검토" camunda:dueDate="${dateTime().withHourOfDay(9)}"/>'
            + END + chain("start", "review", "end"))
    found = problems(tmp_path, "due", body)
    assert len(found) == 1, found
    assert found[0].startswith("BAD_EXPRESSION: 검토: dueDate: 'withHourOfDay' is outside the date arithmetic")


# -- cron cycles, as Camunda 7 takes them -------------------------------------------------------------


def cycle(text: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:timeCycle>{text}</bpmn:timeCycle></bpmn:timerEventDefinition>"


def test_a_process_whose_start_is_a_quartz_cron_starts_itself_every_five_minutes(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 12, 1, 0, 3, tzinfo=UTC))
    body = (f'<bpmn:startEvent id="every_five">{cycle("0 0/5 * * * ?")}</bpmn:startEvent>'
            + user_task("check_sensor") + END + chain("every_five", "check_sensor", "end"))
    folder = write_folder(tmp_path, "sensor", {"sensor.bpmn": bpmn(process("sensor", body))})
    with timed.database.unit_of_work() as session:
        definitions.deploy(session, definitions.check(definitions.read_source(folder)), "designer", now=clock())
    assert worker.drain().starts == 0
    clock.set(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    assert worker.drain().starts == 1
    clock.set(datetime(2026, 12, 1, 0, 9, tzinfo=UTC))
    assert worker.drain().starts == 0
    clock.set(datetime(2026, 12, 1, 0, 10, tzinfo=UTC))
    assert worker.drain().starts == 1


def test_a_weekday_cron_reminder_on_a_task_comes_each_working_morning_in_the_city(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 12, 4, 3, 0, tzinfo=UTC))  # Friday 12:00 in Suwon
    body = (START + user_task("answer") + END + user_task("remind") + '<bpmn:endEvent id="reminded"/>'
            + '<bpmn:boundaryEvent id="each_morning" cancelActivity="false" attachedToRef="answer">'
            + cycle("0 0 9 ? * 2-6") + "</bpmn:boundaryEvent>"  # Quartz: 2-6 is Monday to Friday
            + chain("start", "answer", "end") + chain("each_morning", "remind", "reminded"))
    deploy(timed, tmp_path, "nag", body)
    instance = timed.start("nag")
    clock.set(datetime(2026, 12, 6, 1, 0, tzinfo=UTC))  # Sunday 10:00: no reminder at the weekend
    assert worker.drain().timers == 0
    clock.set(datetime(2026, 12, 7, 0, 0, 1, tzinfo=UTC))  # Monday 09:00:01 in Suwon
    assert worker.drain().timers == 1
    assert timed.ready(instance) == ["answer", "remind"]


def test_a_cron_with_a_year_or_a_bad_field_is_refused_at_validate(tmp_path: Path) -> None:
    body = (START + f'<bpmn:intermediateCatchEvent id="wait" name="매년">{cycle("0 0 9 1 1 ? 2027")}'
            "</bpmn:intermediateCatchEvent>" + END + chain("start", "wait", "end"))
    found = problems(tmp_path, "yearly", body)
    assert len(found) == 1 and found[0].startswith("BAD_TIMER: 매년: timeCycle '0 0 9 1 1 ? 2027'"), found


# -- a person throws a BPMN error or an escalation from the task in hand -----------------------------------

THROWING = (
    START + '<bpmn:userTask id="review" name="서류 검토" camunda:assignee="kim"><bpmn:extensionElements>'
    '<camunda:properties><camunda:property name="outputs" value="missing, checked"/></camunda:properties>'
    "</bpmn:extensionElements></bpmn:userTask>" + user_task("approve")
    + user_task("request_documents") + user_task("inform_head") + END
    + '<bpmn:endEvent id="end_docs"/><bpmn:endEvent id="end_head"/>'
    + '<bpmn:boundaryEvent id="docs_missing" attachedToRef="review">'
      '<bpmn:errorEventDefinition errorRef="err_docs"/></bpmn:boundaryEvent>'
    + '<bpmn:boundaryEvent id="too_big" cancelActivity="false" attachedToRef="review">'
      '<bpmn:escalationEventDefinition escalationRef="esc_big"/></bpmn:boundaryEvent>'
    + chain("start", "review", "approve", "end") + chain("docs_missing", "request_documents", "end_docs")
    + chain("too_big", "inform_head", "end_head")
)
THROWN = ('<bpmn:error id="err_docs" name="서류 미비" errorCode="DOCS_MISSING"/>'
          '<bpmn:escalation id="esc_big" name="상급자 보고" escalationCode="OVER_BUDGET"/>')
KIM = Principal(username="kim", display_name="김주무관", roles=frozenset({"staff"}), groups=frozenset())


def throw(driver: Driver, instance: str, kind: str, code: str, data: dict[str, object] | None = None) -> None:
    task_id = driver.task_id(instance, "review")
    with driver.database.unit_of_work() as session:
        commands.throw_from_task(session, driver.ctx, KIM, task_id, kind, code, "첨부 누락", data)


def test_a_bpmn_error_thrown_by_the_person_working_a_task_takes_its_error_boundary(
    driver: Driver, tmp_path: Path
) -> None:
    deploy(driver, tmp_path, "checked", THROWING, THROWN)
    instance = driver.start("checked")
    throw(driver, instance, "error", "DOCS_MISSING", {"missing": "사업계획서"})
    assert driver.ready(instance) == ["request_documents"]
    assert driver.instance(instance).data["missing"] == "사업계획서"
    trail = driver.trail(instance)
    thrown = next(r for r in trail if r["action"] == "task.error_thrown")
    assert (thrown["actor"], thrown["element_id"], thrown["detail"]["code"]) == ("kim", "review", "DOCS_MISSING")
    assert any(r["action"] == "task.cancelled" and r["element_id"] == "review" for r in trail)
    assert driver.verify(instance).ok


def test_an_escalation_to_a_non_interrupting_boundary_leaves_the_task_open(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, "checked", THROWING, THROWN)
    instance = driver.start("checked")
    throw(driver, instance, "escalation", "OVER_BUDGET")
    assert driver.ready(instance) == ["inform_head", "review"]


def test_a_code_nothing_catches_changes_nothing_and_is_on_record(driver: Driver, tmp_path: Path) -> None:
    deploy(driver, tmp_path, "checked", THROWING, THROWN)
    instance = driver.start("checked")
    with pytest.raises(commands.NotCaught, match=r"no error boundary event of '서류 검토' .* catches the code 'NOPE'"):
        throw(driver, instance, "error", "NOPE")
    assert driver.ready(instance) == ["review"]
    uncaught = [r for r in driver.trail(instance) if r["action"] == "task.error_uncaught"]
    assert [(r["actor"], r["detail"]["code"]) for r in uncaught] == [("kim", "NOPE")]
    task_id = driver.task_id(instance, "review")
    lee = Principal(username="lee", display_name="이주무관", roles=frozenset({"staff"}), groups=frozenset())
    with pytest.raises(NotAllowed), driver.database.unit_of_work() as session:
        commands.throw_from_task(session, driver.ctx, lee, task_id, "error", "DOCS_MISSING")
    assert driver.ready(instance) == ["review"]


def test_spiff_arenas_process_initiator_lane_is_whoever_started_the_case(driver: Driver, tmp_path: Path) -> None:
    body = ('<bpmn:laneSet id="lanes"><bpmn:lane id="l1" name="Process Initiator"><bpmn:flowNodeRef>start'
            "</bpmn:flowNodeRef><bpmn:flowNodeRef>fill</bpmn:flowNodeRef></bpmn:lane>"
            '<bpmn:lane id="l2" name="finance"><bpmn:flowNodeRef>pay</bpmn:flowNodeRef>'
            "<bpmn:flowNodeRef>end</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
            + START + user_task("fill") + user_task("pay") + END + chain("start", "fill", "pay", "end"))
    deploy(driver, tmp_path, "claim_expenses", body)
    instance = driver.start("claim_expenses", initiator="choi")
    fill = driver.open_task(instance, "fill")
    assert (fill.assignee, fill.candidate_groups) == ("choi", [])
    driver.complete(instance, "fill", actor="choi")
    assert driver.open_task(instance, "pay").candidate_groups == ["finance"]


def test_a_camunda_expression_calls_its_handler_with_its_arguments_and_keeps_the_result_variable(
    timed: Driver, worker: Worker, tmp_path: Path
) -> None:
    calls: list[dict[str, object]] = []

    def send(call: handlers.HandlerCall) -> dict[str, object]:
        calls.append(call.params)
        return {"to": call.params["arg1"], "text": call.params["arg2"]}

    handlers.register("notice.send", send)
    try:
        body = (START + '<bpmn:serviceTask id="tell" name="접수 안내" '
                'camunda:expression="${notice.send(applicant, &quot;접수 완료&quot;)}" camunda:resultVariable="sent"/>'
                + user_task("handle") + END + chain("start", "tell", "handle", "end"))
        deploy(timed, tmp_path, "told", body)
        instance = timed.start("told", {"applicant": "010-1234-5678"})
        assert worker.drain().jobs == 1
    finally:
        handlers.unregister("notice.send")
    assert calls == [{"arg1": "010-1234-5678", "arg2": "접수 완료"}]
    assert timed.instance(instance).data["sent"] == {"to": "010-1234-5678", "text": "접수 완료"}
    assert "to" not in timed.instance(instance).data
    assert timed.ready(instance) == ["handle"]


def test_priority_and_follow_up_date_are_kept_on_the_task_as_camunda_gives_them(
    timed: Driver, clock: MovableClock, tmp_path: Path
) -> None:
    body = (START + '<bpmn:userTask id="urgent" camunda:priority="${80 if urgent else 50}" '
            'camunda:followUpDate="${dateTime().plusDays(1)}"/>'
            '<bpmn:userTask id="plain"/><bpmn:parallelGateway id="fork"/><bpmn:parallelGateway id="join"/>' + END
            + chain("start", "fork", "urgent", "join", "end") + chain("fork", "plain", "join"))
    deploy(timed, tmp_path, "prioritised", body)
    instance = timed.start("prioritised", {"urgent": True})
    urgent, plain = timed.open_task(instance, "urgent"), timed.open_task(instance, "plain")
    assert (urgent.priority, urgent.follow_up_at) == (80, T0 + timedelta(days=1))
    assert (plain.priority, plain.follow_up_at) == (50, None)


def test_a_priority_that_is_no_whole_number_is_refused_by_name_and_starts_nothing(
    driver: Driver, tmp_path: Path
) -> None:
    body = (START + '<bpmn:userTask id="task" name="처리" camunda:priority="${level}"/>' + END
            + chain("start", "task", "end"))
    deploy(driver, tmp_path, "prioritised", body)
    with pytest.raises(InvalidInput, match="the priority of '처리' is '높음', not a whole number"):
        driver.start("prioritised", {"level": "높음"})
    assert driver.count(Instance) == 0


def test_camunda_input_and_output_mappings_set_the_data_before_and_read_it_after_a_task(
    driver: Driver, tmp_path: Path
) -> None:
    body = (START + '<bpmn:userTask id="assess" name="평가"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="limit">${budget * 2}</camunda:inputParameter>'
            '<camunda:inputParameter name="office">도로과</camunda:inputParameter>'
            '<camunda:inputParameter name="checks"><camunda:list><camunda:value>안전</camunda:value>'
            "<camunda:value>${area}</camunda:value></camunda:list></camunda:inputParameter>"
            '<camunda:outputParameter name="verdict">${score &gt;= 70}</camunda:outputParameter>'
            "</camunda:inputOutput><camunda:properties><camunda:property name=\"outputs\" value=\"score\"/>"
            "</camunda:properties></bpmn:extensionElements></bpmn:userTask>"
            + user_task("next") + END + chain("start", "assess", "next", "end"))
    deploy(driver, tmp_path, "assessed", body)
    instance = driver.start("assessed", {"budget": 100, "area": "보도"})
    data = driver.instance(instance).data
    assert (data["limit"], data["office"], data["checks"]) == (200, "도로과", ["안전", "보도"])
    driver.complete(instance, "assess", {"score": 85})
    assert driver.instance(instance).data["verdict"] is True


def test_a_script_in_a_mapping_is_refused_at_validate_by_name(tmp_path: Path) -> None:
    body = (START + '<bpmn:userTask id="assess" name="평가"><bpmn:extensionElements><camunda:inputOutput>'
            '<camunda:inputParameter name="x"><camunda:script scriptFormat="groovy">1+1</camunda:script>'
            "</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>"
            + END + chain("start", "assess", "end"))
    found = problems(tmp_path, "mapped", body)
    assert len(found) == 1 and found[0].startswith("BAD_MAPPING: 평가: inputParameter 'x': cityflow reads text"), found


def test_async_before_makes_a_job_boundary_the_worker_goes_on_from(
    timed: Driver, worker: Worker, tmp_path: Path
) -> None:
    body = (START + user_task("apply") + '<bpmn:scriptTask id="score" name="채점" camunda:asyncBefore="true" '
            'scriptFormat="python"><bpmn:script>points = len(answer) * 10</bpmn:script></bpmn:scriptTask>'
            + user_task("review") + END + chain("start", "apply", "score", "review", "end"))
    deploy(timed, tmp_path, "scored", body)
    instance = timed.start("scored")
    timed.complete(instance, "apply", {"answer": "abc"})
    assert timed.ready(instance) == [] and "points" not in timed.instance(instance).data  # committed before it
    assert worker.drain().jobs == 1
    assert timed.ready(instance) == ["review"] and timed.instance(instance).data["points"] == 30
    assert any(r["action"] == "job.completed" and r["element_id"] == "score" for r in timed.trail(instance))


def test_a_failure_past_an_async_boundary_stops_the_case_and_keeps_the_step_before_it(  # camunda:async, the old name
    timed: Driver, worker: Worker, tmp_path: Path
) -> None:
    body = (START + user_task("apply") + '<bpmn:scriptTask id="score" name="채점" camunda:async="true" '
            'scriptFormat="python"><bpmn:script>points = 10 / 0</bpmn:script></bpmn:scriptTask>'
            + END + chain("start", "apply", "score", "end"))
    deploy(timed, tmp_path, "scored", body)
    instance = timed.start("scored")
    assert timed.complete(instance, "apply", {"answer": "abc"}) == "running"  # the boundary held the failure off
    worker.drain()
    case = timed.instance(instance)
    assert case.status == "error" and case.data["answer"] == "abc"
    assert "apply" in completed(timed, instance)


def test_a_boundary_event_with_two_outgoing_flows_starts_both(
    timed: Driver, worker: Worker, clock: MovableClock, tmp_path: Path
) -> None:
    body = (START + user_task("answer") + END + user_task("remind") + user_task("report_late")
            + '<bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>'
            '<bpmn:boundaryEvent id="late" cancelActivity="false" attachedToRef="answer">'
            "<bpmn:timerEventDefinition><bpmn:timeDuration>P1D</bpmn:timeDuration></bpmn:timerEventDefinition>"
            "</bpmn:boundaryEvent>" + chain("start", "answer", "end") + flow("l1", "late", "remind")
            + flow("l2", "late", "report_late") + chain("remind", "e2") + chain("report_late", "e3"))
    deploy(timed, tmp_path, "lateness", body)
    instance = timed.start("lateness")
    clock.advance(days=1, seconds=1)
    assert worker.drain().timers == 1
    assert timed.ready(instance) == ["answer", "remind", "report_late"]


def test_a_call_activity_passes_only_what_its_camunda_in_and_out_mappings_name(driver: Driver, tmp_path: Path) -> None:
    main = process("payments", START + '<bpmn:callActivity id="check" calledElement="credit_check">'
                   "<bpmn:extensionElements>"
                   '<camunda:in source="amount" target="requested"/>'
                   '<camunda:in sourceExpression="${amount * 2}" target="ceiling"/>'
                   '<camunda:out source="verdict" target="credit_ok"/>'
                   "</bpmn:extensionElements></bpmn:callActivity>" + user_task("pay") + END
                   + chain("start", "check", "pay", "end"))
    called = process("credit_check", '<bpmn:startEvent id="c_start"/><bpmn:scriptTask id="judge" '
                     'scriptFormat="python"><bpmn:script>verdict = requested &lt;= 1000 and ceiling == 1400\n'
                     'scratch = 1</bpmn:script>'
                     '</bpmn:scriptTask><bpmn:endEvent id="c_end"/>' + chain("c_start", "judge", "c_end"))
    driver.deploy(write_folder(tmp_path, "payments", {"payments.bpmn": bpmn(main, called)}))
    instance = driver.start("payments", {"amount": 700, "secret": "주민번호"})
    data = driver.instance(instance).data
    assert data["credit_ok"] is True and data["amount"] == 700 and data["secret"] == "주민번호"
    assert "scratch" not in data and "verdict" not in data and "requested" not in data
    assert driver.ready(instance) == ["pay"]


def test_a_listener_that_would_run_java_or_a_script_is_refused_by_name(tmp_path: Path) -> None:
    body = (START + '<bpmn:userTask id="approve" name="승인"><bpmn:extensionElements>'
            '<camunda:taskListener event="create" class="org.example.Assign"/>'
            "</bpmn:extensionElements></bpmn:userTask>" + END + chain("start", "approve", "end"))
    found = problems(tmp_path, "listening", body)
    assert len(found) == 1 and found[0].startswith("LISTENER_UNSUPPORTED: 승인: a camunda:taskListener runs Java"), found
