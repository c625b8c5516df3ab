"""`cityflow message` and `cityflow worker --once` from a shell."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import Cli
from tests.engine.helpers import bpmn, chain, process, user_task, write_folder
from tests.test_cli import cli  # noqa: F401 - the fixture, on both databases

# The process accepts the message from staff (its declaration; without one only admins may send it).
SENDERS = ('<bpmn:extensionElements><camunda:properties>'
           '<camunda:property name="senders:confirmed" value="role:staff"/></camunda:properties></bpmn:extensionElements>')
BODY = (
    '<bpmn:startEvent id="start"/>' + user_task("file") + '<bpmn:intermediateCatchEvent id="confirmation">'
    '<bpmn:messageEventDefinition id="md" messageRef="confirmed"/></bpmn:intermediateCatchEvent>'
    '<bpmn:intermediateCatchEvent id="cool_off"><bpmn:timerEventDefinition id="td">'
    "<bpmn:timeDate>2020-01-01T00:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    + user_task("close") + '<bpmn:endEvent id="end"/>' + chain("start", "file", "confirmation", "cool_off", "close", "end")
)


def test_a_message_and_a_due_timer_move_an_instance_from_the_shell(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    folder = write_folder(tmp_path / "defs", "report", {"r.bpmn": bpmn(
        process("report", SENDERS + BODY), extra='<bpmn:message id="confirmed" name="confirmed"/>')})
    cli.ok("deploy", folder)
    instance = cli.ok("start", "report", "--data", json.dumps({"report_id": 5}), "--as", "kim").strip()
    (task,) = cli.json_lines("tasks", "--instance", instance)
    cli.ok("complete", task["id"], "--as", "kim")

    anonymous = cli("message", "confirmed", "--correlation", json.dumps({"report_id": 5}))
    assert (anonymous.returncode, anonymous.stderr.split(":")[0]) == (1, "InvalidInput")  # says who sends it
    stranger = cli("message", "confirmed", "--correlation", json.dumps({"report_id": 5}), "--as", "auditor.yoon")
    assert (stranger.returncode, stranger.stderr.split(":")[0]) == (1, "NotAllowed")
    nothing = cli("message", "confirmed", "--correlation", json.dumps({"report_id": 6}), "--as", "kim")
    assert nothing.returncode == 1
    assert nothing.stderr.startswith("MessageUnmatched: ")
    assert cli.ok("message", "confirmed", "--correlation", json.dumps({"report_id": 5}),
                  "--payload", json.dumps({"answer": "yes"}), "--as", "kim").strip() == f"delivered {instance}"

    # The timer (a date long past) fired as soon as it was reached; the worker has nothing to do.
    assert [t["element_id"] for t in cli.json_lines("tasks", "--instance", instance)] == ["close"]
    assert cli.ok("worker", "--once").startswith("fired 0 timers")
    trail = [json.loads(line) for line in cli.ok("audit", "export", "--instance", instance).splitlines()]
    received = next(r for r in trail if r["action"] == "message.received")
    assert received["changes"] == {"answer": [None, "yes"]}
    assert cli.ok("audit", "verify").splitlines()[-1].startswith("verified ")
