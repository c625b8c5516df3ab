"""Service-task handlers, by name: a few built in, more through the ``cityflow.handlers`` entry points.

A handler is a function ``handler(call: HandlerCall) -> dict | None``; what it returns is
merged into the task's data. It runs in the worker, inside the instance's transaction,
so whatever it writes through ``call.session`` (notifications, say) commits with the
task's completion. A handler that raises is retried with backoff; after the last try
the job becomes an incident an admin can retry.

A package adds a handler in its ``pyproject.toml``::

    [project.entry-points."cityflow.handlers"]
    archive_document = "mypackage.archive:archive_document"
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import records
from engine.citytime import CityTime
from engine.errors import InvalidInput
from engine.models import OpenTask
from engine.notifications import head_of, notify_people

ENTRY_POINT_GROUP = "cityflow.handlers"


@dataclass
class HandlerCall:
    """What a handler gets: its parameters, the instance's data, and where it runs."""

    handler: str
    params: dict[str, Any]
    data: dict[str, Any]
    instance_id: str
    process_key: str
    business_key: str | None
    element_id: str
    now: datetime
    session: Session
    link: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[HandlerCall], "dict[str, Any] | None"]
_registered: dict[str, Handler] = {}


def register(name: str, handler: Handler) -> None:
    """Register a handler in this process (tests, or an application embedding cityflow)."""
    _registered[name] = handler


def unregister(name: str) -> None:
    _registered.pop(name, None)


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def find(name: str) -> Handler | None:
    if name in _registered:
        return _registered[name]
    if name in BUILT_IN:
        return BUILT_IN[name]
    entry = _entry_points().get(name)
    if entry is None:
        return None
    loaded: Handler = entry.load()
    return loaded


def known_handler_names() -> frozenset[str]:
    return frozenset(_registered) | frozenset(BUILT_IN) | frozenset(_entry_points())


# -- built in --------------------------------------------------------------------------------


def _in_other_languages(params: dict[str, Any], title: str, body: str) -> dict[str, tuple[str, str]]:
    """``title_en`` and ``body_en`` (any two-letter language) → {"en": (title, body)}; a language with
    only one of them keeps the other from ``title``/``body``."""
    languages = {name.rsplit("_", 1)[1] for name in params
                 if re.fullmatch(r"(title|body)_[a-z]{2}", name) and str(params[name] or "").strip()}
    return {language: (str(params.get(f"title_{language}") or "").strip() or title,
                       str(params.get(f"body_{language}") or "") or body) for language in sorted(languages)}


def notify(call: HandlerCall) -> dict[str, Any] | None:
    """Tell people: ``user``, ``group``, ``head_of`` (the head of a department, by name) and/or
    ``bureau_head_of`` (the head of the bureau above it); ``title``, optional ``body``, and the same
    in other languages as ``title_en``/``body_en`` — each person is told in their own language."""
    title = str(call.params.get("title") or "").strip()
    if not title:
        raise InvalidInput("notify needs a title")
    body = str(call.params.get("body") or "")
    user, group = call.params.get("user"), call.params.get("group")
    heads = [h for h in (head_of(call.session, str(call.params["head_of"])) if call.params.get("head_of") else None,
                         head_of(call.session, str(call.params["bureau_head_of"]), above=True)
                         if call.params.get("bureau_head_of") else None) if h]
    if not user and not group and not heads:
        raise InvalidInput("notify needs a user, a group or a department head")
    sent = notify_people(
        call.session,
        users=([str(user)] if user else []) + heads,
        groups=[str(group)] if group else [],
        title=title,
        body=body,
        translations=_in_other_languages(call.params, title, body),
        link=call.link,
        instance_id=call.instance_id,
        now=call.now,
    )
    return {"notified": sent}


def set_due_date(call: HandlerCall) -> dict[str, Any] | None:
    """Set ``variable`` (default ``due_at``) to now plus ``days`` and/or ``hours``."""
    try:
        days = float(call.params.get("days") or 0)
        hours = float(call.params.get("hours") or 0)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("set_due_date needs numbers for days and hours") from exc
    variable = str(call.params.get("variable") or "due_at")
    return {variable: (call.now + timedelta(days=days, hours=hours)).isoformat()}


def check_unopened(call: HandlerCall) -> dict[str, Any] | None:
    """``unopened``: whether none of the instance's waiting tasks has been opened yet (회수 allowed)."""
    opened = call.session.execute(
        select(OpenTask.id).where(OpenTask.instance_id == call.instance_id, OpenTask.opened_at.is_not(None)).limit(1)
    ).first()
    return {str(call.params.get("variable") or "unopened"): opened is None}


def register_record(call: HandlerCall) -> dict[str, Any] | None:
    """Register the approved document as a record (기록물) with the 분류, 보존기간 and 공개 구분 of its
    data (``engine.records.register``); ``record_id`` is the record's number in the register."""
    return {"record_id": records.register(call.session, instance_id=call.instance_id, data=call.data,
                                          now=call.now).id}


def list_expired_records(call: HandlerCall) -> dict[str, Any] | None:
    """``candidates``: the records past their retention, for the disposal review; ``records_chief``: the
    head of the department named ``chief_of``, who approves the disposal."""
    today = CityTime.from_settings().today(call.now)
    department = str(call.params.get("chief_of") or "")
    return {"candidates": [records.candidate(r) for r in records.past_retention(call.session, today)],
            "listed_on": today.isoformat(), "records_chief": head_of(call.session, department) if department else None}


def dispose_records(call: HandlerCall) -> dict[str, Any] | None:
    """Carry out the approved disposal: ``to_dispose`` (record ids) lose their content and are marked
    폐기, ``to_keep`` are kept ``extend_years`` more; ``disposed`` and ``kept`` are their 문서번호."""
    data = call.data
    done = records.dispose(
        call.session, dispose_ids=[int(i) for i in data.get("to_dispose") or []],
        keep_ids=[int(i) for i in data.get("to_keep") or []], extend_years=int(data.get("extend_years") or 0),
        case_id=call.instance_id, decided_by=str(data.get("approved_by") or "system:worker"),
        note=str(data.get("review_opinion") or ""), now=call.now)
    return {**done, "disposed_at": call.now.isoformat()}


BUILT_IN: dict[str, Handler] = {"notify": notify, "set_due_date": set_due_date, "check_unopened": check_unopened,
                                "register_record": register_record, "list_expired_records": list_expired_records,
                                "dispose_records": dispose_records}
