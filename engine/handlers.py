"""Service-task handlers, registered by name through the ``cityflow.handlers`` entry point group.

A package adds a handler with, in its ``pyproject.toml``::

    [project.entry-points."cityflow.handlers"]
    archive_document = "mypackage.archive:archive_document"

Definitions naming a handler that is not registered are refused at validation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

Handler = Callable[..., Any]
ENTRY_POINT_GROUP = "cityflow.handlers"


@lru_cache(maxsize=1)
def registered_handlers() -> dict[str, Any]:
    """Handler name → entry point, loaded lazily when a task first calls it."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_handler_names() -> frozenset[str]:
    return frozenset(registered_handlers())
