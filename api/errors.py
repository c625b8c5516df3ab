"""One mapping from the engine's named errors to HTTP, and one JSON shape for every API error:
``{"error": "<ErrorName>", "detail": "...", "errors": [...]}`` — never HTML or a traceback under /api."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.web.i18n import translations
from engine.attachments import FileRefused
from engine.errors import (
    AccountLocked,
    CityflowError,
    Conflict,
    DefinitionError,
    FormInvalid,
    InvalidInput,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    TooLarge,
)

log = logging.getLogger("cityflow.api")

STATUS: list[tuple[type[CityflowError], int]] = [
    (AccountLocked, 429),
    (NotAuthenticated, 401),
    (NotAllowed, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 413),
    (DefinitionError, 422),
    (InvalidInput, 422),
]


def status_of(error: CityflowError) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 422


# Why a file was refused, by its code (engine.attachments.FileRefused), as the catalogues translate it.
FILE_REFUSALS = {
    "FILE_TOO_LARGE": "The file is %(size)s; files up to %(limit)s are accepted.",
    "FILE_EMPTY": "The file is empty.",
    "FILE_KIND_REFUSED": "This kind of file is not accepted: photos, PDF and text files are.",
    "FILE_TYPE_MISMATCH": "The file calls itself %(declared)s, but its content is %(actual)s.",
    "PHOTO_TOO_MANY_PIXELS": "The photo is %(width)s × %(height)s pixels; photos up to %(limit)s pixels are accepted.",
    "PHOTO_TOO_MANY_PIXELS_CLAIMED": "The photo claims more than %(limit)s pixels.",
    "PHOTO_UNREADABLE": "The file begins like a %(kind)s photo but cannot be read; it may be damaged.",
}


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.1f} MB" if count >= 1024 * 1024 else f"{max(1, round(count / 1024))} KB"


def message_of(error: CityflowError, locale: str) -> str:
    """What an error says to a reader of ``locale``: a refused file in their words, else its detail."""
    if isinstance(error, FileRefused) and error.code in FILE_REFUSALS:
        params = {key: (f"{value:,}" if isinstance(value, int) else value) for key, value in error.params.items()}
        if error.code == "FILE_TOO_LARGE":
            params.update(size=_size(int(error.params["size"])), limit=_size(int(error.params["limit"])))
        return translations(locale).gettext(FILE_REFUSALS[error.code]) % params
    return error.detail


def body(name: str, detail: str, errors: list[Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"error": name, "detail": detail}
    if errors is not None:
        payload["errors"] = errors
    return payload


def error_response(error: CityflowError) -> JSONResponse:
    errors: list[Any] | None = None
    if isinstance(error, DefinitionError):
        errors = [p.as_dict() for p in error.problems]
    elif isinstance(error, FormInvalid):
        errors = error.errors
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticated) else None
    if isinstance(getattr(error, "retry_after", None), int):
        headers = {**(headers or {}), "Retry-After": str(error.retry_after)}  # type: ignore[attr-defined]
    return JSONResponse(body(error.name, error.detail, errors), status_code=status_of(error), headers=headers)


def is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def install(app: FastAPI) -> None:
    """Register the handlers; pages (outside /api) render their own errors, as HTML in the reader's language."""

    @app.exception_handler(CityflowError)
    async def _domain(request: Request, error: CityflowError) -> Response:
        page_error = getattr(request.app.state, "page_error", None)
        if page_error is not None and not is_api(request):
            response: Response = await run_in_threadpool(page_error, request, error)
            return response
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, error: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")),
             "message": str(e.get("msg", ""))}
            for e in error.errors()
        ]
        return JSONResponse(body("InvalidInput", "the request is not valid", errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        page_error = getattr(request.app.state, "page_error", None)
        if page_error is not None and not is_api(request):  # an unknown page address, say: a page, not JSON
            shown: Response = await run_in_threadpool(
                page_error, request, CityflowError(str(error.detail)), error.status_code)
            shown.headers.update(error.headers or {})
            return shown
        names = {404: "NotFound", 405: "MethodNotAllowed", 401: "NotAuthenticated", 403: "NotAllowed"}
        name = names.get(error.status_code, "HTTPError")
        return JSONResponse(body(name, str(error.detail)), status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        page_error = getattr(request.app.state, "page_error", None)
        if page_error is not None and not is_api(request):
            failure = CityflowError("something went wrong on the server; it has been logged")
            shown: Response = await run_in_threadpool(page_error, request, failure, 500)
            return shown
        return JSONResponse(body("InternalError", "something went wrong on the server; it has been logged"),
                            status_code=500)
