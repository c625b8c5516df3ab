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
from engine.runtime import make_script_engine

__all__ = ["EngineContext", "FormCheck"]


FormCheck = Callable[[dict[str, Any], dict[str, Any], str], list[tuple[str, str]]]


@dataclass
class EngineContext:
    """What the commands share within one server, worker or command-line process."""

    script_engine: PythonScriptEngine
    bundles: BundleCache = field(default_factory=BundleCache)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # How a task's form judges submitted data, in the submitter's language: (form, data, locale) →
    # [(field, message)]. The adapters give the forms package's; without one, plain JSON Schema.
    form_check: FormCheck | None = None

    @classmethod
    def create(
        cls, script_time_limit: float = 1.0, clock: Callable[[], datetime] | None = None,
        form_check: FormCheck | None = None,
    ) -> EngineContext:
        clock = clock or Clock()
        return cls(script_engine=make_script_engine(script_time_limit, clock), clock=clock, form_check=form_check)


