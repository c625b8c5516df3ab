"""Logging in with a password for a bearer token, and who the caller is."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from api.deps import Anyone, Public, SessionDep
from api.schemas import Me, TokenRequest, TokenResponse
from engine import identity
from engine.errors import NotAuthenticated

router = APIRouter(prefix="/api", tags=["auth"])

# After a few failures in a row every further attempt waits a little longer (then the account locks).
SLOWDOWN_AFTER = 2
SLOWDOWN_STEP = 0.25
SLOWDOWN_MAX = 2.0


@router.post("/auth/token", response_model=TokenResponse, dependencies=[Public])
def issue_token(body: TokenRequest, session: SessionDep) -> TokenResponse:
    """A bearer token for a username and password."""
    try:
        user = identity.authenticate(session, body.username, body.password)
    except NotAuthenticated:
        failures = identity.failed_logins(session, body.username)
        if failures > SLOWDOWN_AFTER:
            time.sleep(min(SLOWDOWN_STEP * 2 ** (failures - SLOWDOWN_AFTER - 1), SLOWDOWN_MAX))
        raise
    token, _ = identity.create_token(session, user.username, kind="api")
    return TokenResponse(access_token=token)


@router.post("/auth/revoke", status_code=204)
def revoke_token(request: Request, principal: Anyone, session: SessionDep) -> None:
    """Revoke the bearer token of this request."""
    _, _, token = request.headers.get("authorization", "").partition(" ")
    if token:
        identity.revoke_token(session, token.strip())


@router.get("/me", response_model=Me)
def me(principal: Anyone) -> Me:
    return Me(
        username=principal.username,
        display_name=principal.display_name,
        roles=sorted(principal.roles),
        groups=sorted(principal.groups),
        department=principal.department,
        position=principal.position,
        locale=principal.locale,
        covering=[p.username for p in principal.covering],
    )
