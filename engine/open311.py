"""Open311 GeoReport v2 over field reports (현장행정): what a city's 311 clients may file and read.

The services are the categories of the newest ``field_report`` version: the filing form's category
list, each with the service code and department its decision table gives. A request filed by a
client starts a ``field_report`` case as the client's own account and sends its filing form at once
(``commands.start_and_complete``: the same form, the same checks as a report from a phone), so staff
see it like any other report; its status is the case's (``open`` until it is 처리완료 or cancelled).

Clients are accounts ``open311-<client>`` in the group ``open311``; their keys are tokens of the
kind ``open311`` (stored only as hashes, like every token), usable for nothing else.

What a client reads is public: never the reporter, the contact a client sent (kept on the case for
staff), nor the photos (a client's own ``media_url`` is given back). Reports of households in crisis
(위기가구) name people at risk: that service is not offered and its reports are never listed.
"""

from __future__ import annotations

import math
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import attachments, bpmn_xml, commands, definitions, identity, labels
from engine.citytime import CityTime
from engine.context import EngineContext
from engine.errors import FormInvalid, InvalidInput, NotAllowed, NotAuthenticated, NotFound
from engine.identity import Principal
from engine.models import CANCELLED, COMPLETED, ApiToken, Instance, ProcessVersion, User

PROCESS = "field_report"
FILING_TASK = "file_report"
KEY_KIND = "open311"
CLIENT_GROUP = "open311"
ACCOUNT_PREFIX = "open311-"
NOT_PUBLIC = frozenset({"household-in-crisis"})  # 위기가구: the people at risk are named in the report
CLOSED_STATUS = "처리완료"
URGENCIES = {"보통": "보통", "긴급": "긴급", "normal": "보통", "urgent": "긴급"}
WINDOW = timedelta(days=90)  # the spec's default and widest range of requested_datetime
LIST_LIMIT = 1000
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00+09:00"  # when the services below last changed their shape
CONTACT_FIELDS = ("email", "first_name", "last_name", "phone", "device_id", "account_id")


class UnknownJurisdiction(NotFound):
    """A ``jurisdiction_id`` this server does not serve."""


class UnknownService(NotFound):
    """A ``service_code`` no service has."""


class UnknownRequest(NotFound):
    """A ``service_request_id`` no public request has."""


@dataclass(frozen=True)
class Service:
    """One category of field report as Open311 offers it."""

    code: str
    category: str
    name_en: str
    department: str

    def as_open311(self) -> dict[str, Any]:
        return {
            "service_code": self.code,
            "service_name": self.category,
            "description": f"{self.name_en} ({self.category}) — {self.department}",
            "metadata": True,
            "type": "realtime",
            "keywords": ", ".join(dict.fromkeys((self.category, self.name_en, self.code))),
            "group": self.department,
        }


@dataclass(frozen=True)
class Filing:
    """What a client sent to file a request (``POST requests``), as text, unchecked."""

    service_code: str
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    media_url: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    contact: tuple[tuple[str, str], ...] = ()
    media: commands.Upload | None = None


# -- jurisdiction and clients -----------------------------------------------------------------


def check_jurisdiction(expected: str, given: str | None) -> None:
    """A client may leave ``jurisdiction_id`` out (this server serves one); naming another is a 404."""
    if given and given.strip() != expected:
        raise UnknownJurisdiction(f"jurisdiction_id '{given.strip()[:100]}' is not served here; this is '{expected}'")


def account_of(client: str) -> str:
    return f"{ACCOUNT_PREFIX}{client}"


def issue_key(session: Session, client: str, *, actor: str) -> str:
    """A new API key for the client ``client`` (its account made on first use); shown once."""
    username = account_of(client.strip())
    if session.get(User, username) is None:
        identity.add_user(session, username, secrets.token_urlsafe(32), actor=actor,
                          display_name=f"Open311: {client.strip()}", roles=("staff",), groups=(CLIENT_GROUP,))
    token, _row = identity.create_token(session, username, kind=KEY_KIND)
    return token


def revoke_keys(session: Session, client: str, now: datetime) -> int:
    """Revoke every key of the client ``client``; how many were live."""
    rows = session.execute(select(ApiToken).where(
        ApiToken.username == account_of(client.strip()), ApiToken.kind == KEY_KIND,
        ApiToken.revoked_at.is_(None))).scalars().all()
    for row in rows:
        row.revoked_at = now
    session.flush()
    return len(rows)


def client_of(session: Session, api_key: str | None) -> Principal:
    """The client whose key ``api_key`` is; 403 for a missing, unknown or revoked key."""
    if not api_key or not api_key.strip():
        raise NotAllowed("api_key is required to file a request")
    try:
        user, _row = identity.token_owner(session, api_key.strip(), KEY_KIND)
    except NotAuthenticated:
        raise NotAllowed("api_key is unknown or revoked") from None
    return identity.principal(session, user)


# -- services -----------------------------------------------------------------------------------

_services_cache: dict[tuple[int, str], list[Service]] = {}
_cache_lock = threading.Lock()


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in el if _local(child) == name]


def _literal(text: str) -> str:
    text = text.strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def _routing_rules(version: ProcessVersion) -> list[tuple[str, dict[str, str]]]:
    """(category tested, outputs) of each rule of the decision table that gives ``service_code``."""
    rules: list[tuple[str, dict[str, str]]] = []
    for name, text in sorted(definitions.files_of(version).items()):
        if not bpmn_xml.is_dmn_file(name):
            continue
        tree, _problems = bpmn_xml.parse_xml(text.encode() if isinstance(text, str) else text, name)
        if tree is None:
            continue
        for table in (el for el in tree.getroot().iter() if _local(el) == "decisionTable"):
            outputs = [o.get("name") or "" for o in _children(table, "output")]
            if "service_code" not in outputs:
                continue
            for rule in _children(table, "rule"):
                tested = [t.text or "" for e in _children(rule, "inputEntry") for t in _children(e, "text")]
                given = [t.text or "" for e in _children(rule, "outputEntry") for t in _children(e, "text")]
                rules.append((_literal(tested[0]) if tested else "-", dict(zip(outputs, map(_literal, given),
                                                                               strict=False))))
    return rules


def _services_of(version: ProcessVersion) -> list[Service]:
    key = (version.id, version.hash)
    found = _services_cache.get(key)
    if found is not None:
        return found
    form = definitions.form_document(version, FILING_TASK, f"forms/{FILING_TASK}.json") or {}
    schema = form.get("schema", form) or {}
    categories = ((schema.get("properties") or {}).get("category") or {}).get("enum") or []
    rules = _routing_rules(version)
    english = labels.labels_of(version).values.get("category", {})
    offered: dict[str, Service] = {}
    for category in categories:
        outputs = next((out for tested, out in rules if tested in (category, "-", "")), None)
        if not outputs or not outputs.get("service_code"):
            continue
        code = outputs["service_code"]
        offered.setdefault(code, Service(code, category, (english.get(category) or {}).get("en", category),
                                         outputs.get("department", "")))
    services = list(offered.values())
    with _cache_lock:
        _services_cache[key] = services
    return services


def all_services(session: Session) -> list[Service]:
    """Every category of the newest field report version, the ones not public included."""
    return _services_of(definitions.version_row(session, PROCESS))


def services(session: Session) -> list[dict[str, Any]]:
    """``GET services``: the field report categories a client may file."""
    return [s.as_open311() for s in all_services(session) if s.code not in NOT_PUBLIC]


def _service(session: Session, code: str) -> Service:
    found = next((s for s in all_services(session) if s.code == code and code not in NOT_PUBLIC), None)
    if found is None:
        raise UnknownService(f"service_code '{code[:100]}' is not a service here")
    return found


def service_definition(session: Session, code: str) -> dict[str, Any]:
    """``GET services/{code}``: the attributes a request of the service may carry (the urgency)."""
    service = _service(session, code)
    return {"service_code": service.code, "attributes": [{
        "variable": True,
        "code": "urgency",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "보통 (normal, the default) or 긴급 (urgent: a danger; the department head is "
                                "told at once)",
        "order": 1,
        "description": "긴급도 (urgency)",
        "values": [{"key": "보통", "name": "보통 (normal)"}, {"key": "긴급", "name": "긴급 (urgent)"}],
    }]}


def discovery(base_url: str) -> dict[str, Any]:
    """``GET discovery``: where this server's GeoReport v2 endpoint is."""
    return {
        "changeset": CHANGESET,
        "contact": "현장행정 처리 (field reports): the city's planning office (기획조정실)",
        "key_service": "cityflow open311-key CLIENT, by the city's administrators",
        "endpoints": [{"specification": SPECIFICATION, "url": base_url, "changeset": CHANGESET,
                       "type": "production", "formats": ["application/json", "text/xml"]}],
    }


# -- filing -----------------------------------------------------------------------------------


def _number(text: str, name: str, errors: list[dict[str, str]]) -> float | None:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):  # nan and inf would pass every range check and are no JSON
        errors.append({"field": name, "message": f"'{text[:40]}' is not a number"})
        return None
    return number


def _location(filing: Filing, errors: list[dict[str, str]]) -> dict[str, Any]:
    lat, lon, address = filing.lat.strip(), filing.long.strip(), filing.address_string.strip()
    if bool(lat) != bool(lon):
        errors.append({"field": "long" if lat else "lat", "message": "lat and long are given together"})
    if not (lat and lon) and not address:
        errors.append({"field": "lat", "message": "give the place: lat and long, or address_string"})
    location: dict[str, Any] = {}
    if lat and lon:
        location["lat"], location["lon"] = _number(lat, "lat", errors), _number(lon, "long", errors)
    if address:
        location["address"] = address
    return location


OPEN311_FIELDS = {"photos_before": "media", "location.lat": "lat", "location.lon": "long", "location": "lat",
                  "location.address": "address_string", "urgency": "attribute[urgency]"}


def file_request(
    session: Session, ctx: EngineContext, client: Principal, filing: Filing, *, store: attachments.BlobStore,
    max_bytes: int = attachments.MAX_BYTES,
) -> dict[str, Any]:
    """``POST requests``: start a field report for ``client`` and send its filing form; 400 naming
    each parameter that is missing or wrong, nothing started."""
    if not filing.service_code.strip():
        raise FormInvalid([{"field": "service_code", "message": "service_code is required"}])
    try:
        service = _service(session, filing.service_code.strip())
    except UnknownService as exc:
        raise FormInvalid([{"field": "service_code", "message": exc.detail}]) from None
    errors: list[dict[str, str]] = []
    location = _location(filing, errors)
    urgency = "보통"
    for code, value in filing.attributes:
        if code != "urgency":
            errors.append({"field": f"attribute[{code[:40]}]", "message": "the service has no such attribute"})
        elif value.strip().lower() not in URGENCIES and value.strip() not in URGENCIES:
            errors.append({"field": "attribute[urgency]", "message": "보통 (normal) or 긴급 (urgent)"})
        else:
            urgency = URGENCIES.get(value.strip(), URGENCIES.get(value.strip().lower(), "보통"))
    if filing.media is None:
        errors.append({"field": "media", "message": "a field report needs a photo of the problem: send it as "
                       "the multipart file media (a media_url is kept as a link, not fetched)"})
    if filing.media_url.strip() and not filing.media_url.strip().lower().startswith(("https://", "http://")):
        errors.append({"field": "media_url", "message": "media_url is an http(s) address"})
    if errors:
        raise FormInvalid(errors)
    start_data: dict[str, Any] = {"open311": {"client": client.username, "service_code": service.code}}
    if filing.media_url.strip():
        start_data["open311"]["media_url"] = filing.media_url.strip()[:2000]
    if filing.address_id.strip():
        start_data["open311"]["address_id"] = filing.address_id.strip()[:200]
    contact = {name: value.strip()[:200] for name, value in filing.contact if name in CONTACT_FIELDS and value.strip()}
    if contact:
        start_data["open311"]["contact"] = contact  # for staff who may need to call back; never read back
    report = {"location": location, "category": service.category, "description": filing.description.strip(),
              "urgency": urgency}
    assert filing.media is not None
    try:
        instance = commands.start_and_complete(
            session, ctx, client, PROCESS, start_data, FILING_TASK, report, files={"photos_before": [filing.media]},
            store=store, max_bytes=max_bytes)
    except FormInvalid as exc:
        raise FormInvalid([{**e, "field": OPEN311_FIELDS.get(str(e.get("field")), str(e.get("field")))}
                           for e in exc.errors]) from None
    return {"service_request_id": instance.id, "service_notice": _notice(service), "account_id": None}


def _notice(service: Service) -> str:
    return (f"{service.department}에서 1 근무일 안에 접수를 확인합니다 "
            f"({service.department} acknowledges within one working day).")


# -- reading ------------------------------------------------------------------------------------


def _moment(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} '{text[:40]}' is not a W3C date-time such as 2026-11-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name} needs its offset, e.g. 2026-11-01T00:00:00+09:00 or ...Z")
    return moment


def _closed(instance: Instance) -> bool:
    return instance.status in (COMPLETED, CANCELLED) or (instance.data or {}).get("status") == CLOSED_STATUS


def _stamp(city: CityTime, value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return city.local(value)
    except (ValueError, TypeError):
        return None


def _as_request(city: CityTime, instance: Instance, by_category: dict[str, Service]) -> dict[str, Any] | None:
    data = instance.data or {}
    service = by_category.get(str(data.get("category") or ""))
    if service is None or service.code in NOT_PUBLIC:
        return None  # a report not filed yet, or not for the public
    closed = _closed(instance)
    location: dict[str, Any] = data["location"] if isinstance(data.get("location"), dict) else {}
    open311: dict[str, Any] = data["open311"] if isinstance(data.get("open311"), dict) else {}
    requested = _stamp(city, data.get("received_at")) or city.local(instance.started_at)
    stamps = [m for m in (_stamp(city, data.get(k)) for k in ("received_at", "acknowledged_at", "closed_at")) if m]
    if instance.ended_at is not None:
        stamps.append(city.local(instance.ended_at))
    planned = data.get("planned_fix_on")
    if instance.status == CANCELLED:
        notes = "취소됨 (cancelled)"
    elif closed:
        notes = str(data.get("resolution") or "처리완료 (resolved)")
    elif data.get("status") == "처리중":
        notes = f"처리중 (in progress): {data.get('acknowledge_note') or service.department}"
    else:
        notes = f"접수 (received): {data.get('department') or service.department}"
    return {
        "service_request_id": instance.id,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": service.category,
        "service_code": service.code,
        "description": str(data.get("description") or ""),
        "agency_responsible": str(data.get("department") or service.department),
        "service_notice": _notice(service),
        "requested_datetime": requested.isoformat(),
        "updated_datetime": max(stamps, default=requested).isoformat(),
        "expected_datetime": city.end_of_day(planned).isoformat() if isinstance(planned, str) and planned else None,
        "address": str(location.get("address") or ""),
        "address_id": open311.get("address_id"),
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": open311.get("media_url"),
    }


def find_requests(
    session: Session, city: CityTime, now: datetime, *, ids: list[str] | None = None,
    service_codes: list[str] | None = None, start_date: str | None = None, end_date: str | None = None,
    statuses: list[str] | None = None,
) -> list[dict[str, Any]]:
    """``GET requests``: public requests, newest first. ``ids`` overrides every other filter; else those
    requested within ``start_date``–``end_date`` (at most 90 days; the last 90 by default)."""
    by_category = {s.category: s for s in all_services(session)}
    query = select(Instance).where(Instance.process_key == PROCESS)
    if ids:
        query = query.where(Instance.id.in_([i[:36] for i in ids[:LIST_LIMIT]]))
    else:
        unknown = sorted(set(statuses or ()) - {"open", "closed"})
        if unknown:
            raise InvalidInput(f"status is open or closed, not '{unknown[0][:40]}'")
        end = _moment(end_date, "end_date") if end_date else None
        start = _moment(start_date, "start_date") if start_date else None
        try:
            end = end or (start + WINDOW if start else now)
            start = start or end - WINDOW
        except OverflowError:
            raise InvalidInput("start_date and end_date must lie within the calendar") from None
        if end < start:
            raise InvalidInput("end_date is before start_date")
        if end - start > WINDOW:
            raise InvalidInput("start_date and end_date may not span more than 90 days")
        query = query.where(Instance.started_at >= start, Instance.started_at <= end)
    rows = session.execute(query.order_by(Instance.started_at.desc(), Instance.id).limit(LIST_LIMIT)).scalars()
    found = [r for r in (_as_request(city, i, by_category) for i in rows) if r is not None]
    if ids:
        return found
    if service_codes:
        found = [r for r in found if r["service_code"] in service_codes]
    if statuses:
        found = [r for r in found if r["status"] in statuses]
    return found


def find_request(session: Session, city: CityTime, request_id: str) -> dict[str, Any]:
    """``GET requests/{id}``: one public request."""
    instance = session.get(Instance, request_id[:36])
    found = None
    if instance is not None and instance.process_key == PROCESS:
        found = _as_request(city, instance, {s.category: s for s in all_services(session)})
    if found is None:
        raise UnknownRequest(f"service_request_id '{request_id[:100]}' is not a request here")
    return found

