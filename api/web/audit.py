"""The auditor's workspace: search the whole trail, read a case's trail as a timeline, export either.

Read-only, for auditors and admins. ``/audit`` lists the records matching a search, newest first, a
page at a time with the count of all; ``/audit/cases/{id}`` is one case's timeline
(:mod:`api.web.timeline`) with the verification of its chain and the newest checkpoint holding it;
``.csv`` and ``.jsonl`` exports of both stream the CLI's fields (``engine.audit.EXPORT_FIELDS``) a
page at a time. Each reading of a case, and each export, is itself on record (``engine.trail``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from api.deps import ServicesDep, SessionDep
from api.web.common import Auditor, WebUser, render
from api.web.i18n import translations
from api.web.timeline import build, who, who_label, words_of
from engine import audit, definitions, identity, trail
from engine.errors import NotFound
from engine.identity import Person
from engine.labels import labels_of

router = APIRouter(include_in_schema=False)

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
SEARCH_PARTS = ("process", "case", "person", "department", "action", "by", "first_day", "last_day")


def _day(text: str | None) -> date | None:
    if not text:
        return None
    return date.fromisoformat(text)


def _search(params: dict[str, str], gettext: Any) -> tuple[trail.Search, list[str]]:
    """The search a query string asks for, and what in it could not be read (in words)."""
    problems = []
    days: dict[str, date | None] = {}
    for name in ("first_day", "last_day"):
        try:
            days[name] = _day(params.get(name))
        except ValueError:
            days[name] = None
            problems.append(gettext("A day is written as YYYY-MM-DD."))
    if days["first_day"] and days["last_day"] and days["last_day"] < days["first_day"]:
        problems.append(gettext("The last day comes before the first day."))
        days["last_day"] = None
    return trail.Search(
        process_key=params.get("process") or None,
        case=params.get("case") or None,
        person=params.get("person") or None,
        department=params.get("department") or None,
        action=params.get("action") or None,
        by=params.get("by") if params.get("by") in ("people", "system") else None,
        first_day=days["first_day"],
        last_day=days["last_day"],
    ), problems


def _params(request: Request) -> dict[str, str]:
    return {name: request.query_params[name].strip() for name in SEARCH_PARTS
            if request.query_params.get(name, "").strip()}


def _zone_name(viewer: WebUser) -> str:
    """The city's zone as people know it: "KST (Asia/Seoul)"."""
    short = (viewer.now or datetime.now(viewer.zone)).astimezone(viewer.zone).tzname()
    full = str(getattr(viewer.zone, "key", "") or viewer.zone)
    return f"{short} ({full})" if short and short != full else full


def _people_of(session: SessionDep, found: list[trail.Found]) -> dict[str, Person]:
    """The people one page of records names (who acted, for whom, about whom), looked up at once."""
    names = {str(row.record["actor"]) for row in found}
    for row in found:
        detail = row.record.get("detail")
        if isinstance(detail, dict):
            names.update(str(detail[key]) for key in ("on_behalf_of", "username", "deputy")
                         if isinstance(detail.get(key), str))
    return trail.people(session, sorted(names))


def _subject(detail: dict[str, Any], people: dict[str, Person], gettext: Any, processes: dict[str, str]) -> str | None:
    """Whom or what a record of the system's own trail is about: a person (and their deputy), a process."""
    if isinstance(detail.get("username"), str):
        shown = who_label(who(detail["username"], people, gettext))
        if isinstance(detail.get("deputy"), str):
            shown += " · " + gettext("deputy: %(name)s") % {"name": who_label(who(detail["deputy"], people, gettext))}
        return shown
    if isinstance(detail.get("process_key"), str):
        name = processes.get(detail["process_key"], detail["process_key"])
        return f"{name} v{detail['version']}" if isinstance(detail.get("version"), int) else name
    return None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, viewer: Auditor, session: SessionDep, cursor: str | None = None, shown: int = 0,
) -> HTMLResponse:
    gettext = translations(viewer.locale).gettext
    params = _params(request)
    wanted, problems = _search(params, gettext)
    results = trail.search(session, viewer.principal, wanted, viewer.zone, cursor=cursor)
    people = _people_of(session, results.rows)
    processes = [(row.key, labels_of(row).process(viewer.locale, row.name))
                 for row in definitions.latest_versions(session)]
    process_names = dict(processes)
    versions = trail.versions(session, [row.version_id for row in results.rows])
    rows = []
    for found in results.rows:
        record = found.record
        version = versions.get(found.version_id) if found.version_id is not None else None
        labels = labels_of(version)
        detail = record["detail"] if isinstance(record.get("detail"), dict) else {}
        behalf = detail.get("on_behalf_of")
        subject = _subject(detail, people, gettext, process_names)
        rows.append({
            "record": record,
            "who": who_label(who(str(record["actor"]), people, gettext)),
            "for_whom": who_label(who(str(behalf), people, gettext)) if behalf and behalf != record["actor"] else None,
            "step": labels.element(record.get("element_id"), viewer.locale, record.get("element_name") or "") or None,
            "process": labels.process(viewer.locale, version.name) if version is not None else None,
            "title": found.title or (version.name if version is not None else None),
            "business_key": found.business_key,
            "subject": subject,
            "person": not str(record["actor"]).startswith("system:"),
        })
    start = max(shown, 0)
    query = urlencode(params)
    next_page = None
    if results.next_cursor:
        next_page = "/audit?" + urlencode({**params, "cursor": results.next_cursor, "shown": start + len(rows)})
    return render(
        request, "audit.html", viewer, section="audit",
        rows=rows, total=results.total, first=start + 1, last=start + len(rows), next_page=next_page,
        paged=cursor is not None, query=query, filters=params, problems=problems,
        processes=processes, departments=trail.departments(session), actions=trail.actions(session),
        names=[c.display_name for c in identity.colleagues(session)], zone_name=_zone_name(viewer),
        action_words=_extra_action_words(viewer.locale),
    )


def _extra_action_words(locale: str) -> dict[str, str]:
    """Actions the shared action words leave out, said in ``locale``."""
    gettext = translations(locale).gettext
    return {
        trail.VIEWED: gettext("read the trail"),
        trail.EXPORTED: gettext("exported the trail"),
        "timer.fired": gettext("timer fired"),
        "message.received": gettext("message received"),
        "message.unmatched": gettext("message nobody waited for"),
        "job.completed": gettext("automatic step done"),
        "job.retried": gettext("automatic step retried"),
    }


def _stream(rows: Iterator[dict[str, Any]], fmt: str) -> Iterator[bytes]:
    """The export's lines as bytes; a CSV starts with a byte-order mark so spreadsheets read Korean."""
    if fmt == "csv":
        yield "\ufeff".encode()
    for line in audit.export(rows, fmt):
        yield line.encode()


def _download(rows: Iterator[dict[str, Any]], fmt: str, name: str) -> StreamingResponse:
    return StreamingResponse(_stream(rows, fmt), media_type=FORMATS[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                                      "Cache-Control": "no-store"})


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound(f"no export as '{fmt}': csv or jsonl")
    return fmt


@router.get("/audit/export.{fmt}")
def export_search(request: Request, fmt: str, viewer: Auditor, session: SessionDep,
                  services: ServicesDep) -> StreamingResponse:
    fmt = _format(fmt)
    wanted, _problems = _search(_params(request), translations(viewer.locale).gettext)
    trail.record_export(session, viewer.principal, wanted, fmt)
    stamp = (viewer.now or datetime.now(viewer.zone)).astimezone(viewer.zone).strftime("%Y%m%d-%H%M")
    return _download(trail.export_search(services.database, wanted, viewer.zone), fmt, f"cityflow-audit-{stamp}")


@router.get("/audit/cases/{instance_id}", response_class=HTMLResponse)
def case_page(request: Request, instance_id: str, viewer: Auditor, session: SessionDep, services: ServicesDep,
              steps: str | None = None) -> HTMLResponse:
    everything = steps == "all"
    case = trail.view_case(session, viewer.principal, instance_id)
    words = words_of(session, case.version, instance_id, case.records, viewer.locale, viewer.zone)
    timeline = build(case.records, words, viewer.zone, everything=everything)
    verification = audit.verify(session, audit.keyring(services.settings), instance_id, settings=services.settings)
    labels = labels_of(case.version)
    data = case.instance.data or {}
    return render(
        request, "audit_case.html", viewer, section="audit",
        instance=case.instance, title=data.get("title") or labels.process(viewer.locale, case.version.name),
        process_name=labels.process(viewer.locale, case.version.name),
        started_by=who_label(words.who(case.instance.initiator)) if case.instance.initiator else None,
        timeline=timeline, verification=verification, anchor_age=_age(verification, viewer.locale),
        finding_words=audit.FINDINGS,
        zone_name=_zone_name(viewer), who_label=who_label, action_words=_extra_action_words(viewer.locale),
    )


@router.get("/audit/cases/{instance_id}/export.{fmt}")
def export_case(instance_id: str, fmt: str, viewer: Auditor, session: SessionDep,
                services: ServicesDep) -> StreamingResponse:
    fmt = _format(fmt)
    trail.record_view(session, viewer.principal, instance_id, fmt)
    return _download(trail.export_case(services.database, instance_id), fmt, f"cityflow-case-{instance_id}")


@router.get("/audit/verify", response_class=HTMLResponse)
def verify_page(request: Request, viewer: Auditor, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    """Every chain and checkpoint recomputed, on request (it reads the whole trail)."""
    verification = audit.verify(session, audit.keyring(services.settings), settings=services.settings)
    return render(request, "audit_verify.html", viewer, section="audit", verification=verification,
                  anchor_age=_age(verification, viewer.locale), finding_words=audit.FINDINGS)


def _age(verification: audit.Verification, locale: str) -> str | None:
    """How long ago the newest line of the anchor log was written, in words."""
    newest = verification.newest_anchor
    if newest is None:
        return None
    gettext = translations(locale).gettext
    minutes = int(float(newest["age_seconds"]) // 60)
    if minutes < 1:
        return gettext("less than a minute ago")
    if minutes < 120:
        return gettext("%(n)s minutes ago") % {"n": minutes}
    return gettext("%(n)s hours ago") % {"n": minutes // 60}

