"""What no route ever sees: input that cannot be text or a number, and bodies beyond their limit.

One ASGI middleware, in front of every route, refuses before anything is parsed or stored:

- a NUL byte (``%00``, ``\\u0000``) anywhere — path, query, JSON, a form's text, a cursor, the login
  name — ``INPUT_NUL_BYTE``: PostgreSQL cannot store it in text, and no person types one;
- text that is not Unicode — a lone surrogate (``\\ud800`` in JSON) or bytes that are not UTF-8 —
  ``INPUT_NOT_TEXT``: the audit trail could not hash it;
- ``NaN`` and ``Infinity`` in JSON, ``INPUT_NOT_A_NUMBER``: JSON has no such numbers, and
  PostgreSQL's JSON refuses them;
- a body beyond its limit, ``BODY_TOO_LARGE`` (413): ``CITYFLOW_MAX_BODY_BYTES`` (2 MB) for JSON and
  forms, ``CITYFLOW_MAX_UPLOAD_BYTES`` (six attachments' worth) for multipart uploads — counted as
  it arrives, so a body that lies about its length is stopped all the same.

Refusals are 422 or 413 in the one error shape under ``/api`` and an error page in the reader's
language elsewhere. A file's own bytes in a multipart upload are not text and are not looked at
here (``engine.attachments`` checks what a file is).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import errors
from api.web.i18n import choose, translations
from engine.errors import InvalidInput, NotAllowed, TooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REFUSALS = {
    "INPUT_NUL_BYTE": "the request holds a NUL character, which no text may contain",
    "INPUT_NOT_TEXT": "the request holds text that is not valid Unicode (a lone surrogate or bytes that are not UTF-8)",
    "INPUT_NOT_A_NUMBER": "JSON numbers must be finite: NaN and Infinity are not numbers",
    "INPUT_TOO_DEEP": "the JSON nests deeper than 64 levels",
    "BODY_TOO_LARGE": "the request body is larger than this server accepts",
}
MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


class Refused(Exception):
    def __init__(self, code: str, status: int = 422, **params: Any) -> None:
        super().__init__(code)
        self.code, self.status, self.params = code, status, params


def _text(value: bytes, where: str) -> str:
    if b"\x00" in value:
        raise Refused("INPUT_NUL_BYTE", where=where)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("INPUT_NOT_TEXT", where=where) from exc


def _check_string(value: str, where: str) -> None:
    if "\x00" in value:
        raise Refused("INPUT_NUL_BYTE", where=where)
    if _SURROGATE.search(value):
        raise Refused("INPUT_NOT_TEXT", where=where)


def _check_json(value: Any, where: str = "body") -> None:
    """Every string (keys too) and number of a parsed JSON document, and how deep it nests."""
    stack = [(value, where, 0)]
    while stack:
        item, at, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Refused("INPUT_TOO_DEEP", where=at)
        if isinstance(item, str):
            _check_string(item, at)
        elif isinstance(item, dict):
            for key, inner in item.items():
                _check_string(key, at)
                stack.append((inner, f"{at}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, f"{at}[{n}]", depth + 1) for n, inner in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise Refused("INPUT_NOT_A_NUMBER", where=at)


def _not_a_number(name: str) -> float:
    raise Refused("INPUT_NOT_A_NUMBER", where=name)


def _check_multipart(body: bytes, content_type: str) -> None:
    """The text fields of a multipart form (parts without a file name); files are left to the engine."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        return
    for part in body.split(b"--" + match.group(1).encode("latin-1")):
        head, _, content = part.partition(b"\r\n\r\n")
        if b"filename=" in head.lower() or b"content-disposition" not in head.lower():
            continue
        _text(content.removesuffix(b"\r\n"), "form")


class InputGuard:
    """The ASGI middleware; ``max_body`` for JSON and forms, ``max_upload`` for multipart bodies."""

    def __init__(self, app: ASGIApp, max_body: int, max_upload: int) -> None:
        self.app, self.max_body, self.max_upload = app, max_body, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_address(scope)
            replay = await self._checked_body(scope, receive)
        except Refused as refused:
            response = await self._refusal(scope, refused)
            await response(scope, receive, send)
            return
        await self.app(scope, replay or receive, send)

    @staticmethod
    def _check_address(scope: Scope) -> None:
        raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
        _text(unquote_to_bytes(raw_path), "path")
        query: bytes = scope.get("query_string") or b""
        for pair in query.split(b"&"):
            _text(unquote_to_bytes(pair.replace(b"+", b" ")), "query")

    async def _checked_body(self, scope: Scope, receive: Receive) -> Receive | None:
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        declared_type = headers.get("content-type", "")  # the multipart boundary is case-sensitive
        content_type = declared_type.lower()
        limit = self.max_upload if content_type.startswith("multipart/") else self.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Refused("BODY_TOO_LARGE", 413, limit=limit)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                chunks, more = [], False
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refused("BODY_TOO_LARGE", 413, limit=limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            self._check_body(body, declared_type)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    @staticmethod
    def _check_body(body: bytes, declared_type: str) -> None:
        content_type = declared_type.lower()
        if content_type.startswith("application/json") or content_type.endswith("+json"):
            text = _text(body, "body")
            try:
                document = json.loads(text, parse_constant=_not_a_number)
            except ValueError:
                return  # not JSON at all: the route answers that, in its words
            except RecursionError as exc:
                raise Refused("INPUT_TOO_DEEP", where="body") from exc
            _check_json(document)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            for pair in body.split(b"&"):
                _text(unquote_to_bytes(pair.replace(b"+", b" ")), "form")
        elif content_type.startswith("multipart/"):
            _check_multipart(body, declared_type)

    @staticmethod
    async def _refusal(scope: Scope, refused: Refused) -> Response:
        request = Request(scope)
        page_error = getattr(request.app.state, "page_error", None)
        if page_error is not None and not errors.is_api(request):
            said = translations(choose(request)).gettext(REFUSALS[refused.code])
            error = TooLarge(said) if refused.status == 413 else InvalidInput(said)
            shown: Response = await run_in_threadpool(page_error, request, error, refused.status)
            return shown
        detail = REFUSALS[refused.code]
        where = refused.params.get("where")
        if where:
            detail = f"{detail} (in the {where})"
        return JSONResponse(errors.body(refused.code, detail), status_code=refused.status)


class OriginCheck:
    """A state-changing request a browser sends from another site is refused (403
    ``CROSS_ORIGIN_REFUSED``): its ``Origin`` (else its ``Referer``) must be this site's own, or one of
    ``allowed``. A request with a bearer token is let through — it carries no ambient credential a
    foreign page could borrow — and so is one with neither header: browsers send ``Origin`` with
    every cross-site POST, and the pages' forms carry their CSRF token besides."""

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...] = ()) -> None:
        self.app, self.allowed = app, frozenset(origin.rstrip("/").lower() for origin in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in self.UNSAFE:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
            if not headers.get("authorization", "").lower().startswith("bearer "):
                sent = headers.get("origin") or _origin_of(headers.get("referer", ""))
                own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
                if sent and sent.rstrip("/").lower() not in {own, *self.allowed}:  # "null" included
                    response = await self._refusal(scope)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refusal(scope: Scope) -> Response:
        detail = "this request came from another site; it is refused"
        request = Request(scope)
        page_error = getattr(request.app.state, "page_error", None)
        if page_error is not None and not errors.is_api(request):
            said = translations(choose(request)).gettext(detail)
            shown: Response = await run_in_threadpool(page_error, request, NotAllowed(said), 403)
            return shown
        return JSONResponse(errors.body("CROSS_ORIGIN_REFUSED", detail), status_code=403)


def _origin_of(referer: str) -> str:
    match = re.match(r"^([a-z][a-z0-9+.-]*://[^/?#]+)", referer.strip(), re.I)
    return match.group(1) if match else ""
