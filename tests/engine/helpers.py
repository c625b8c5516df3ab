"""Small BPMN documents for engine tests, and a driver that reloads the instance for every step."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import audit, definitions, instances
from engine.context import EngineContext
from engine.db import Database
from engine.models import AuditRecord, Instance, OpenTask

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'id="defs" targetNamespace="https://cityflow.example/tests">\n'
)


def bpmn(*processes: str, extra: str = "") -> str:
    return HEADER + extra + "".join(processes) + "\n</bpmn:definitions>\n"


def process(process_id: str, body: str, name: str = "") -> str:
    return f'<bpmn:process id="{process_id}" name="{name or process_id}" isExecutable="true">{body}</bpmn:process>'


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
    )


def chain(*elements: str) -> str:
    """Sequence flows joining element ids in order."""
    return "".join(flow(f"f_{a}_{b}", a, b) for a, b in itertools.pairwise(elements))


def user_task(task_id: str, name: str = "", attrs: str = "") -> str:
    return f'<bpmn:userTask id="{task_id}" name="{name or task_id}" {attrs}/>'


def script_task(task_id: str, script: str) -> str:
    escaped = script.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f'<bpmn:scriptTask id="{task_id}" name="{task_id}" scriptFormat="python">'
        f"<bpmn:script>{escaped}</bpmn:script></bpmn:scriptTask>"
    )


def write_folder(root: Path, key: str, files: dict[str, str]) -> Path:
    folder = root / key
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return folder


class Driver:
    """Drives instances the way production does: one unit of work per step, state reloaded each time."""

    def __init__(self, database: Database, ctx: EngineContext) -> None:
        self.database = database
        self.ctx = ctx

    def deploy(self, folder: Path, actor: str = "designer") -> definitions.Deployment:
        checked = definitions.check(definitions.read_source(folder))
        assert checked.problems == [], [str(p) for p in checked.problems]
        with self.database.unit_of_work() as session:
            return definitions.deploy(session, checked, actor)

    def start(self, key: str, data: dict[str, Any] | None = None, initiator: str = "drafter") -> str:
        with self.database.unit_of_work() as session:
            return instances.start_instance(session, self.ctx, key, data, initiator=initiator).id

    def ready(self, instance_id: str) -> list[str]:
        """Element ids of the instance's ready user tasks, sorted."""
        with self.database.unit_of_work() as session:
            return sorted(t.element_id for t in instances.open_tasks(session, instance_id=instance_id))

    def task_id(self, instance_id: str, element_id: str) -> str:
        with self.database.unit_of_work() as session:
            rows = session.execute(
                select(OpenTask.id).where(OpenTask.instance_id == instance_id, OpenTask.element_id == element_id)
            ).scalars().all()
        assert len(rows) == 1, f"{element_id} is not ready exactly once: {rows}"
        return rows[0]

    def open_task(self, instance_id: str, element_id: str) -> OpenTask:
        with self.database.unit_of_work() as session:
            return session.get(OpenTask, self.task_id(instance_id, element_id))  # type: ignore[return-value]

    def complete(self, instance_id: str, element_id: str, data: dict[str, Any] | None = None, actor: str = "staff") -> str:
        task_id = self.task_id(instance_id, element_id)
        with self.database.unit_of_work() as session:
            return instances.complete_task(session, self.ctx, task_id, data or {}, actor).status

    def instance(self, instance_id: str) -> Instance:
        with self.database.unit_of_work() as session:
            return instances.get_instance(session, instance_id)

    def trail(self, instance_id: str) -> list[dict[str, Any]]:
        with self.database.unit_of_work() as session:
            return list(audit.records(session, instance_id))

    def completed_elements(self, instance_id: str) -> list[str]:
        return [r["element_id"] for r in self.trail(instance_id) if r["action"] == "task.completed"]

    def verify(self, instance_id: str | None = None) -> audit.Verification:
        with self.database.unit_of_work() as session:
            return audit.verify(session, b"test-audit-key", instance_id)

    def count(self, model: type, **where: Any) -> int:
        with self.database.unit_of_work() as session:
            query = select(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return len(session.execute(query).scalars().all())


__all__ = ["AuditRecord", "Driver", "bpmn", "chain", "flow", "process", "script_task", "user_task", "write_folder"]
