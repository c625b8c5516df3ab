"""Open311 GeoReport v2 (``/open311/v2``): field reports as a city's 311 clients file and follow them.

Every path ends in ``.json`` or ``.xml`` and answers in that format, errors included, in the spec's
shapes (``[{"code", "description"}]``, ``<errors><error>…``). Reads are public; filing needs a
client's ``api_key`` (see ``engine.open311``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from xml.etree import ElementTree

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from api.deps import Public, ServicesDep, SessionDep
from api.errors import status_of
from engine import commands, open311
from engine.citytime import CityTime
from engine.errors import CityflowError, FormInvalid, NotFound

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}
STATUS = {401: 403, 422: 400}  # the spec's codes: a bad key is 403, a bad request 400


def _format(request: Request) -> str:
    tail = request.url.path.rsplit(".", 1)
    return tail[1] if len(tail) == 2 and tail[1] in FORMATS else "json"


def _format_asked(request: Request) -> str:
    """The format the path ends in; another ending names nothing here (404)."""
    tail = request.url.path.rsplit(".", 1)
    if len(tail) != 2 or tail[1] not in FORMATS:
        raise NotFound("Open311 paths end in .json or .xml")
    return tail[1]


def _element(parent: ElementTree.Element, tag: str, value: Any) -> None:
    node = ElementTree.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, inner in value.items():
            _element(node, key, inner)
    elif isinstance(value, list):
        for inner in value:
            _element(node, ITEMS.get(tag, "item"), inner)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def render(fmt: str, root: str, item: str | None, value: Any, status_code: int = 200) -> Response:
    """``value`` as JSON, or as XML under ``<root>`` (a list: one ``<item>`` per entry)."""
    if fmt != "xml":
        return JSONResponse(value, status_code=status_code, media_type=FORMATS["json"])
    top = ElementTree.Element(root)
    for entry in value if isinstance(value, list) else [value]:
        if item is None:
            for key, inner in entry.items():
                _element(top, key, inner)
        else:
            _element(top, item, entry)
    text = ElementTree.tostring(top, encoding="unicode", xml_declaration=False)
    return Response('<?xml version="1.0" encoding="UTF-8"?>' + text, status_code=status_code,
                    media_type=FORMATS["xml"])


def _error_response(request: Request, error: Exception) -> Response:
    if isinstance(error, FormInvalid):
        status, found = 400, [f"{e.get('field')}: {e.get('message')}" for e in error.errors]
    elif isinstance(error, CityflowError):
        status, found = STATUS.get(status_of(error), status_of(error)), [error.detail]
    elif isinstance(error, HTTPException):  # a body that is no form, say
        status, found = error.status_code, [str(error.detail)]
    else:  # a parameter FastAPI could not read
        assert isinstance(error, RequestValidationError)
        status, found = 400, [f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in error.errors()]
    return render(_format(request), "errors", "error", [{"code": status, "description": d} for d in found], status)


class Open311Route(APIRoute):
    """A route whose refusals are written as the spec writes errors, after its transaction rolled back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except (CityflowError, RequestValidationError, HTTPException) as error:
                return _error_response(request, error)

        return answer


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route, dependencies=[Public])


async def _form(request: Request) -> dict[str, Any]:
    """The POSTed fields (url-encoded or multipart), read before the synchronous endpoint runs."""
    form = await request.form()
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            fields[key] = commands.Upload(value.filename or "media", value.content_type or "", await value.read())
        else:
            fields.setdefault(key, value)
    return fields


Fields = Annotated[dict[str, Any], Depends(_form)]


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def _list(request: Request, name: str) -> list[str]:
    return [p.strip() for v in request.query_params.getlist(name) for p in v.split(",") if p.strip()]


def _check(services: ServicesDep, request: Request, jurisdiction: str | None = None) -> str:
    given = jurisdiction if jurisdiction is not None else request.query_params.get("jurisdiction_id")
    open311.check_jurisdiction(services.settings.open311_jurisdiction, given)
    return _format_asked(request)


@router.get("/discovery.{fmt}")
def discovery(request: Request) -> Response:
    """Service discovery: this endpoint, its specification and formats."""
    base = str(request.url_for("service_list", fmt="json")).rsplit("/", 1)[0]
    return render(_format_asked(request), "discovery", None, open311.discovery(base))


@router.get("/services.{fmt}", name="service_list")
def service_list(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    """The field report categories a client may file."""
    return render(_check(services, request), "services", "service", open311.services(session))


@router.get("/services/{code_and_format}")
def service_definition(code_and_format: str, request: Request, session: SessionDep, services: ServicesDep) -> Response:
    """A service's attributes."""
    code = code_and_format.rsplit(".", 1)[0]
    return render(_check(services, request), "service_definition", None, open311.service_definition(session, code))


@router.post("/requests.{fmt}", status_code=201)
def file_request(request: Request, fields: Fields, session: SessionDep, services: ServicesDep) -> Response:
    """File a field report: ``api_key``, ``service_code``, the place, ``description``, the photo ``media``."""
    fmt = _check(services, request, _text(fields, "jurisdiction_id"))
    client = open311.client_of(session, _text(fields, "api_key"))
    media = fields.get("media")
    filing = open311.Filing(
        service_code=_text(fields, "service_code"), lat=_text(fields, "lat"), long=_text(fields, "long"),
        address_string=_text(fields, "address_string"), address_id=_text(fields, "address_id"),
        description=_text(fields, "description"), media_url=_text(fields, "media_url"),
        attributes=tuple((k[10:-1], v) for k, v in fields.items() if k.startswith("attribute[") and k.endswith("]")
                         and isinstance(v, str)),
        contact=tuple((name, _text(fields, name)) for name in open311.CONTACT_FIELDS),
        media=media if isinstance(media, commands.Upload) else None,
    )
    filed = open311.file_request(session, services.ctx, client, filing, store=services.blobs,
                                 max_bytes=services.settings.attachment_max_bytes)
    return render(fmt, "service_requests", "request", [filed], 201)


@router.get("/requests.{fmt}")
def request_list(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    """Requests, newest first: by ``service_request_id``, or by service, status and date range."""
    fmt = _check(services, request)
    found = open311.find_requests(
        session, CityTime.from_settings(services.settings), services.ctx.clock(),
        ids=_list(request, "service_request_id"), service_codes=_list(request, "service_code"),
        start_date=request.query_params.get("start_date"), end_date=request.query_params.get("end_date"),
        statuses=_list(request, "status"))
    return render(fmt, "service_requests", "request", found)


@router.get("/requests/{id_and_format}")
def request_one(id_and_format: str, request: Request, session: SessionDep, services: ServicesDep) -> Response:
    """One request and its status."""
    fmt = _check(services, request)
    found = open311.find_request(session, CityTime.from_settings(services.settings), id_and_format.rsplit(".", 1)[0])
    return render(fmt, "service_requests", "request", [found])
