"""핵심 지표 on the web: the city's key indicators the reader may read, together — each with its latest
value against its target, how it was judged and a small line of its values — those off target first,
with how many stand in each status and in each field."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from api.deps import ServicesDep, SessionDep
from api.web import trends
from api.web.common import Viewer, process_labels, render, value_words
from engine import access, worklist
from engine.labels import NONE
from engine.models import CANCELLED

router = APIRouter(include_in_schema=False)
PROCESS = "indicator"
SHOWN = worklist.MAX_PAGE
# off target first, then near it, on it, and those still waiting for their first value
ORDER = {"미달": 0, "주의": 1, "달성": 2, "측정전": 3, "등록": 4, "폐지": 5}
RETIRED = "폐지"


@dataclass(frozen=True)
class Card:
    """One indicator as the list shows it."""

    id: str
    data: dict[str, Any]
    status: str
    latest: str  # the latest value with its unit, or ""
    target: str  # its target with its unit, or ""
    period: str  # the latest period in words
    sparkline: Markup
    late: bool  # its value is past due


def _amount(value: Any, unit: str) -> str:
    return trends.figure(float(value)) + unit if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _late(data: dict[str, Any], now: datetime) -> bool:
    due = data.get("entry_due_by")
    try:
        return bool(due) and datetime.fromisoformat(str(due)) < now
    except ValueError:
        return False


def _card(instance_id: str, data: dict[str, Any], locale: str, now: datetime) -> Card:
    unit = str(data.get("unit") or "")
    status = str(data.get("status") or "등록")
    return Card(instance_id, data, status, _amount(data.get("latest_value"), unit),
                _amount(data.get("latest_target"), unit),
                trends.period_name(str(data.get("latest_period") or ""), locale),
                trends.sparkline(data.get("measurements"), unit=unit, locale=locale,
                                 caption=str(data.get("title") or "")),
                status != RETIRED and _late(data, now))


@router.get("/indicators", response_class=HTMLResponse)
def indicators_page(
    request: Request, viewer: Viewer, session: SessionDep, services: ServicesDep,
    sector: Annotated[str, Query(max_length=50)] = "", status: Annotated[str, Query(max_length=20)] = "",
    retired: Annotated[str, Query(max_length=1)] = "",
) -> HTMLResponse:
    now = services.ctx.clock()
    labels = process_labels(session)
    cases, _ = worklist.find_instances(session, viewer.principal, process_key=PROCESS, limit=SHOWN)
    cards = [_card(case.id, dict(case.data or {}), viewer.locale, now) for case in cases if case.status != CANCELLED]
    # what the reader may read, counted (the register's figures, on the dashboard, are the whole city's)
    counted = Counter(card.status for card in cards)
    sectors = sorted({str(card.data.get("sector")) for card in cards if card.data.get("sector")})
    shown = [card for card in cards
             if (card.status == RETIRED) == (retired == "1")
             and (not sector or card.data.get("sector") == sector) and (not status or card.status == status)]
    shown.sort(key=lambda card: (ORDER.get(card.status, 9), str(card.data.get("title") or "")))
    return render(request, "indicators.html", viewer, section="indicators", deployed=PROCESS in labels,
                  counted=counted, in_use=len(cards) - counted[RETIRED], cards=shown, sectors=sectors,
                  chosen={"sector": sector, "status": status, "retired": retired == "1"},
                  may_register=PROCESS in labels and viewer.principal.has_role(*access.STAFF),
                  word=value_words(labels.get(PROCESS, NONE), viewer.locale))
