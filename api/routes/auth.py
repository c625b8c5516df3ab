"""Logging in with a password for a bearer token, and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import Anyone, Public, SessionDep
from api.schemas import Me, TokenRequest, TokenResponse
from api.throttle import address_of, throttle_of
from engine import identity
from engine.errors import NotAuthenticated

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token", response_model=TokenResponse, dependencies=[Public])
def issue_token(request: Request, body: TokenRequest, session: SessionDep) -> TokenResponse:
    """A bearer token for a username and password; 429 with ``Retry-After`` after too many failures
    from one address or for one name (see ``api.throttle``)."""
    throttle, address = throttle_of(request), address_of(request)
    throttle.check(body.username, address)
    try:
        user = identity.authenticate(session, body.username, body.password)
    except NotAuthenticated:
        throttle.failed(body.username, address)
        raise
    throttle.succeeded(body.username, address)
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
