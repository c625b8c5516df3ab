"""Every register a process declares (``register.json``), as a page to filter and read and as a file
to take away: ``/registers/<process>`` and ``/registers/<process>/export.xlsx`` or ``.csv`` — the
same filters, the same items (those the reader may read), the columns in the reader's language,
values as people write them (departments and statuses by name, dates in city time, lists by count)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from api.deps import ServicesDep, SessionDep
from api.web.common import Viewer, WebUser, process_labels, render, value_words
from engine import registry
from engine.errors import NotFound
from engine.labels import NONE

router = APIRouter()

#: Filters a register page reads from its address, besides a field's own key.
ROLE_FILTERS = ("department", "status", "category", "overdue", "open")
#: Rows an export holds at most (a register is read a page at a time to make it).
EXPORT_LIMIT = 20_000
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _filters(declared: registry.Declaration, request: Request) -> dict[str, str]:
    offered = {*declared.filters, "open"} if declared.closed else set(declared.filters)
    return {name: value for name, value in request.query_params.items()
            if name in offered and value.strip()}


def _register(session: Session, services: ServicesDep, viewer: WebUser, key: str, filters: dict[str, str],
              *, offset: int = 0, limit: int = registry.DEFAULT_LIMIT) -> registry.Register:
    return registry.register(session, key, services.ctx.clock(), filters=filters, offset=offset, limit=limit,
                             reader=viewer.principal)


class Shown:
    """How a register's values read in one language: ``cell(field, value)``."""

    def __init__(self, session: Session, viewer: WebUser, key: str) -> None:
        self.word = value_words(process_labels(session).get(key, NONE), viewer.locale)
        self.zone = viewer.zone
        self.locale = viewer.locale

    def label(self, field: registry.Field) -> str:
        return field.label.get(self.locale) or field.label.get("ko") or field.key

    def cell(self, field: registry.Field, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if field.type == "datetime":
            try:
                moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                return str(value)
            return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment.tzinfo else str(value)
        if field.type in ("number", "list", "date"):
            return str(value)
        return self.word(field.key, value)


@router.get("/registers/{key}", response_class=HTMLResponse)
def register_page(request: Request, key: str, viewer: Viewer, session: SessionDep, services: ServicesDep,
                  offset: int = 0) -> HTMLResponse:
    declared = registry.declaration(session, key)
    filters = _filters(declared, request)
    register = _register(session, services, viewer, key, filters, offset=max(offset, 0))
    shown = Shown(session, viewer, key)
    query = urlencode(filters)
    return render(request, "register.html", viewer, section="dashboard", register=register, declared=declared,
                  shown=shown, filters=filters, title=declared.name.get(viewer.locale) or declared.name.get("ko", key),
                  exports={fmt: f"/registers/{key}/export.{fmt}" + (f"?{query}" if query else "")
                           for fmt in ("xlsx", "csv")})


def _all_items(session: Session, services: ServicesDep, viewer: WebUser, key: str,
               filters: dict[str, str]) -> Iterator[dict[str, Any]]:
    offset: int | None = 0
    given = 0
    while offset is not None and given < EXPORT_LIMIT:
        page = _register(session, services, viewer, key, filters, offset=offset, limit=registry.MAX_LIMIT)
        yield from page.items
        given += len(page.items)
        offset = page.next_offset


def _rows(declared: registry.Declaration, shown: Shown, items: Iterator[dict[str, Any]],
          gettext: Callable[[str], str]) -> Iterator[list[str]]:
    overdue = declared.deadline is not None
    yield [shown.label(f) for f in declared.fields] + ([gettext("Overdue")] if overdue else [])
    for item in items:
        yield [shown.cell(f, item.get(f.key)) for f in declared.fields] + (
            [gettext("Yes") if item.get("overdue") else ""] if overdue else [])


@router.get("/registers/{key}/export.{fmt}")
def export_register(request: Request, key: str, fmt: str, viewer: Viewer, session: SessionDep,
                    services: ServicesDep) -> Response:
    if fmt not in FORMATS:
        raise NotFound(f"no export as '{fmt}': xlsx or csv")
    from api.web.i18n import translations

    declared = registry.declaration(session, key)
    filters = _filters(declared, request)
    shown = Shown(session, viewer, key)
    rows = _rows(declared, shown, _all_items(session, services, viewer, key, filters),
                 translations(viewer.locale).gettext)
    name = declared.name.get(viewer.locale) or declared.name.get("ko") or key
    day = services.ctx.clock().astimezone(viewer.zone).date().isoformat()
    filename = f"{name} {day}.{fmt}"
    body = _csv(rows) if fmt == "csv" else _xlsx(name, rows)
    return Response(body, media_type=FORMATS[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"{key}.{fmt}\"; filename*=UTF-8''{quote(filename)}"})


def _csv(rows: Iterator[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # the mark makes Excel read it as UTF-8


def _xlsx(title: str, rows: Iterator[list[str]]) -> bytes:
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31] or "register"  # Excel's limit on a sheet's name
    widths: dict[int, int] = {}
    for number, row in enumerate(rows):
        sheet.append(row)
        for column, text in enumerate(row, start=1):
            widths[column] = max(widths.get(column, 0), min(len(text) * 2 + 2, 60))
        if number == 0:
            for cell in sheet[1]:
                cell.font = Font(bold=True)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
