"""Workflows kept in memory between the steps of an instance, so that its next step in this process
need not restore them from the stored state.

The database stays the truth: a kept workflow is used only when the instance's stored state is
exactly the text it was saved as (and its version the same), it is kept only once the step that
saved it has committed, and whoever takes it owns it — it leaves the cache, so a step that fails or
a second request for the same instance restores from the database as before.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_PENDING = "cityflow_kept_workflows"  # Session.info: workflows to keep once the transaction commits
KEPT = 256  # instances per process whose workflow stays in memory, most recently stepped first


@dataclass(frozen=True)
class _Kept:
    version_id: int
    state: str
    workflow: BpmnWorkflow


class WorkflowCache:
    """The workflows of the instances stepped last in this process (one cache serves one engine context)."""

    def __init__(self, size: int = KEPT) -> None:
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: str, version_id: int, state: str) -> BpmnWorkflow | None:
        """The workflow saved as ``state`` of this version, if it is here; it is the caller's now."""
        with self._lock:
            kept = self._kept.pop(instance_id, None)
        if kept is None or kept.version_id != version_id or kept.state != state:
            return None
        return kept.workflow

    def keep_when_committed(self, session: Session, instance_id: str, version_id: int, state: str,
                            workflow: BpmnWorkflow) -> None:
        """Keep ``workflow``, saved as ``state``, once ``session``'s transaction commits (not if it rolls back)."""
        session.info.setdefault(_PENDING, {})[instance_id] = (self, _Kept(version_id, state, workflow))

    def _keep(self, instance_id: str, kept: _Kept) -> None:
        with self._lock:
            self._kept[instance_id] = kept
            self._kept.move_to_end(instance_id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for instance_id, (cache, kept) in session.info.pop(_PENDING, {}).items():
        cache._keep(instance_id, kept)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, _previous: SessionTransaction) -> None:
    session.info.pop(_PENDING, None)  # a savepoint's rollback too: what it saved may be gone
