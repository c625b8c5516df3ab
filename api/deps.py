"""Request dependencies: the unit of work, the caller, and the access rule every route declares.

Each route depends on exactly one access rule — ``public``, or ``access(role, …)`` — which
both authenticates and authorizes; a test walks the routes to make sure none lacks one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request, Response
from sqlalchemy.orm import Session

from engine import identity
from engine.attachments import BlobStore
from engine.config import Settings
from engine.context import EngineContext
from engine.db import Database
from engine.errors import NotAllowed, NotAuthenticated
from engine.identity import Principal

SESSION_COOKIE = "cityflow_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Services:
    """What the app shares across requests."""

    settings: Settings
    database: Database
    ctx: EngineContext
    blobs: BlobStore


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def unit_of_work(request: Request) -> Iterator[Session]:
    """The request's one transaction, committed when the endpoint returns without an error."""
    with services(request).database.unit_of_work() as session:
        yield session


SessionDep = Annotated[Session, Depends(unit_of_work, scope="function")]


@dataclass(frozen=True)
class Caller:
    principal: Principal
    via_cookie: bool
    csrf_token: str | None


def identify(request: Request, session: Session) -> Caller:
    """The caller, from a bearer token or a browser session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <token>'")
        principal, _row = identity.caller(session, token.strip(), "api")
        return Caller(principal, via_cookie=False, csrf_token=None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal, row = identity.caller(session, cookie, "web")
        return Caller(principal, via_cookie=True, csrf_token=row.csrf_token)
    raise NotAuthenticated("log in first")


@dataclass
class AnswerShape:
    """How the caller wants a case answered after acting on it: whole, or in brief (``Prefer:
    return=minimal``, RFC 7240: its id, status and open tasks, what a client needs to act next)."""

    brief: bool
    response: Response


def answer_shape(request: Request, response: Response) -> AnswerShape:
    wanted = request.headers.get("prefer", "")
    # Preferences are separated by commas; each is a token, "=" and a value (quoted or not), then parameters.
    preferences = {part.split(";", 1)[0].replace(" ", "").replace('"', "").lower() for part in wanted.split(",")}
    return AnswerShape("return=minimal" in preferences, response)


AnswerShapeDep = Annotated[AnswerShape, Depends(answer_shape)]


AccessRule = Callable[..., Principal]


def access(*roles: str) -> AccessRule:
    """A dependency admitting authenticated callers with one of ``roles`` (any role when none given)."""

    def rule(request: Request, session: SessionDep) -> Principal:
        caller = identify(request, session)
        if caller.via_cookie and request.method in UNSAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER)
            if not sent or sent != caller.csrf_token:
                raise NotAllowed("missing or wrong CSRF token")
        if roles and not caller.principal.has_role(*roles):
            raise NotAllowed(f"this needs the role {' or '.join(roles)}")
        request.state.principal = caller.principal
        return caller.principal

    rule.cityflow_access = roles or ("authenticated",)  # type: ignore[attr-defined]
    return rule


def public() -> None:
    """Open to anyone (logging in, the API description)."""


public.cityflow_access = ("public",)  # type: ignore[attr-defined]

Anyone = Annotated[Principal, Depends(access())]
Staff = Annotated[Principal, Depends(access("staff", "designer", "admin"))]
Designer = Annotated[Principal, Depends(access("designer", "admin"))]
Reader = Annotated[Principal, Depends(access("auditor", "admin"))]
Public = Depends(public)

# A numeric id in a path: bounded, so an absurd number is a 422, never a database overflow.
RowId = Annotated[int, Path(ge=1, le=2**62)]
