"""What the engine's commands share within one server, worker or command-line process: the
specs cache, the sandboxed script engine, the clock, and how forms judge submitted data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.clock import Clock
from engine.definitions import BundleCache
from engine.identity import Directory
from engine.runtime import make_script_engine
from engine.workflow_cache import WorkflowCache

__all__ = ["EngineContext", "FormCheck", "FormChecked"]


@dataclass(frozen=True)
class FormChecked:
    """What a form made of submitted data: the data as it is kept (a chosen person filled in from
    the organisation, never as the browser sent them) and every field it does not accept, with why."""

    data: dict[str, Any]
    errors: list[tuple[str, str]] = field(default_factory=list)


# (form, data, locale, the organisation) → FormChecked, in the submitter's language.
FormCheck = Callable[[dict[str, Any], dict[str, Any], str, Directory], FormChecked]


@dataclass
class EngineContext:
    """What the commands share within one server, worker or command-line process."""

    script_engine: PythonScriptEngine
    bundles: BundleCache = field(default_factory=BundleCache)
    workflows: WorkflowCache = field(default_factory=WorkflowCache)  # as the last committed steps left them
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # How a form (a task's, or a process's start form) judges submitted data and fills in the people
    # and departments chosen on it from the organisation. The adapters give the forms package's;
    # without one, plain JSON Schema and the data as sent.
    form_check: FormCheck | None = None
    # How much data a case may hold, counted as JSON; a step that would leave more is not kept.
    max_data_bytes: int = 1024 * 1024

    def start_script_processes(self) -> None:
        """Start a script process now, so that the first script of the day need not wait for one."""
        from engine.script_pool import pool

        pool().start_spare()

    @classmethod
    def create(
        cls, script_time_limit: float = 1.0, clock: Callable[[], datetime] | None = None,
        form_check: FormCheck | None = None, max_data_bytes: int = 1024 * 1024,
    ) -> EngineContext:
        clock = clock or Clock()
        return cls(script_engine=make_script_engine(script_time_limit, clock, max_data_bytes), clock=clock,
                   form_check=form_check, max_data_bytes=max_data_bytes)


