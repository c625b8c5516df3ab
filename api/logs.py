"""Logging as the operator configures it, with each request's id on every line written for it.

The configuration is a file: ``cityflow serve --log-config FILE`` or ``CITYFLOW_LOG_CONFIG``, else
``api/logging.json`` (shipped). A ``.json`` (or, with PyYAML installed, ``.yaml``) file is a
``logging.config.dictConfig`` dictionary; any other is a ``fileConfig`` ``.ini`` — the rules uvicorn
follows, since ``serve`` hands the file to it. Nothing a configuration says reaches the audit trail:
the engine records transitions itself (engine/runtime.py), not through logging.

:class:`RequestIdFilter`, attached to a handler, gives each record a ``request_id`` (``-`` outside a
request) for its format to name as ``%(request_id)s``. This module imports nothing heavy: a
configuration naming the filter is read before the app is.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import uuid
from contextvars import ContextVar
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).resolve().parent / "logging.json"
HEADER = "X-Request-ID"

# Ids from a proxy or a client are kept when they are plain: bounded, and nothing that could forge a log line.
_SANE = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

request_id: ContextVar[str | None] = ContextVar("cityflow_request_id", default=None)


def adopt_or_new(incoming: str | None) -> str:
    """The request's id: the caller's ``X-Request-ID`` when it is sane, else a new one."""
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Names the request being handled on each record (``record.request_id``); lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


def config_file(option: Path | None, setting: Path | None) -> Path:
    """The file in force: the command's option, else ``CITYFLOW_LOG_CONFIG``, else the shipped one."""
    return option or setting or DEFAULT_CONFIG


def configure(path: Path) -> None:
    """Apply a logging file in this process as uvicorn does in each server process."""
    if path.suffix == ".json":
        logging.config.dictConfig(json.loads(path.read_text(encoding="utf-8")))
    elif path.suffix in (".yaml", ".yml"):
        import yaml  # type: ignore[import-untyped]  # optional, as for uvicorn

        logging.config.dictConfig(yaml.safe_load(path.read_text(encoding="utf-8")))
    else:
        logging.config.fileConfig(path, disable_existing_loggers=False)
