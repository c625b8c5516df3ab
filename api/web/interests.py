"""관심사항 on the web: the mayor's items of interest together, the one with the newest report first,
each with its latest report, its department and when the next report is due."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep, SessionDep
from api.web.common import Viewer, process_labels, render, value_words
from engine import registry
from engine.errors import ProcessNotFound
from engine.labels import NONE

router = APIRouter(include_in_schema=False)
SHOWN = 200


def _newest_report_first(item: dict[str, Any]) -> tuple[int, str, str]:
    """Items with a report by its time, newest first; those without one after them, newest marked first."""
    reported = item.get("last_report_at") or ""
    return (1 if reported else 0, str(reported), "")


@router.get("/interests", response_class=HTMLResponse)
def interests_page(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep, closed: str | None = None,
) -> HTMLResponse:
    try:
        board = registry.register(session, "interest", services.ctx.clock(), limit=SHOWN, reader=viewer.principal)
    except ProcessNotFound:
        board = None
    items = [] if board is None else [i for i in board.items if (i.get("status") == "종결") == (closed == "1")]
    items.sort(key=_newest_report_first, reverse=True)
    return render(request, "interests.html", viewer, section="interests", board=board, items=items,
                  closed=closed == "1",
                  word=value_words(process_labels(session).get("interest", NONE), viewer.locale))
