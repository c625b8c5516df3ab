"""Logging in and out of the pages."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SESSION_COOKIE, ServicesDep, SessionDep, public
from api.throttle import LoginThrottled, address_of, throttle_of
from api.web.common import (
    LOGIN_CSRF_COOKIE,
    LoginFailed,
    Posted,
    Viewer,
    check_csrf,
    render,
    see_other,
)
from api.web.i18n import choose, translations
from engine import identity
from engine.errors import NotAuthenticated

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), username="")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login(request: Request, form: Posted, session: SessionDep, services: ServicesDep) -> Response:
    sent, expected = form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE)
    username = str(form.get("username") or "")[:100]
    target = _safe_next(str(form.get("next") or "/"))
    gettext = translations(choose(request)).gettext
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent, expected):
        return render(request, "login.html", None, status=403, login_csrf=expected or "", next=target,
                      username=username, error=gettext("The login form expired; please try again."))
    throttle, address = throttle_of(request), address_of(request)
    try:
        throttle.check(username, address)
    except LoginThrottled as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        message = gettext("Too many failed logins; try again in %(n)s minutes.") % {"n": minutes}
        raise LoginFailed(message, username=username, next_page=target, login_csrf=expected) from exc
    try:
        user = identity.authenticate(session, username, str(form.get("password") or ""))
    except NotAuthenticated as exc:
        throttle.failed(username, address)
        # recorded: the refusal record survives the failed request
        raise LoginFailed(gettext("Wrong username or password."), username=username, next_page=target,
                          login_csrf=expected) from exc
    throttle.succeeded(username, address)
    token, _ = identity.create_token(session, user.username, kind="web")
    response = see_other(target)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=services.settings.secure_cookies,
                        max_age=int(identity.WEB_SESSION_FOR.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, viewer: Viewer, form: Posted, session: SessionDep) -> Response:
    check_csrf(form, viewer)
    identity.revoke_token(session, request.cookies.get(SESSION_COOKIE, ""))
    response = see_other("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


