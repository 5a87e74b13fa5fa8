"""Login, logout and "who am I": session cookies (HttpOnly, SameSite=Strict, expiring) and CSRF tokens.

The login form itself is protected by a pre-login token: ``GET /api/auth/csrf`` sets it in an
HttpOnly cookie and returns it, and ``POST /api/auth/login`` must send it back in ``X-CSRF-Token``.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from kiosk_ui.dashboard.accounts import WebSession
from kiosk_ui.dashboard.core import Dashboard
from kiosk_ui.dashboard.deps import (
    CSRF_HEADER,
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    client_address,
    get_dashboard,
    require,
    session_of,
    tokens_match,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    csrf_token: str
    center_name: str


class CsrfToken(BaseModel):
    csrf_token: str
    accounts_exist: bool


def _me(session: WebSession, dashboard: Dashboard) -> Me:
    a = session.account
    return Me(username=a.username, display_name=a.display_name, role=a.role, csrf_token=session.csrf_token,
              center_name=dashboard.settings.center_name)


@router.get("/csrf", response_model=CsrfToken)
def prelogin_token(response: Response, dashboard: Annotated[Dashboard, Depends(get_dashboard)]) -> CsrfToken:
    token = secrets.token_urlsafe(24)
    response.set_cookie(PRELOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=dashboard.settings.cookie_secure, path="/api/auth")
    return CsrfToken(csrf_token=token, accounts_exist=dashboard.accounts.count() > 0)


@router.post("/login", response_model=Me)
def login(body: LoginRequest, request: Request, response: Response,
          dashboard: Annotated[Dashboard, Depends(get_dashboard)]) -> Me:
    if not tokens_match(request.headers.get(CSRF_HEADER), request.cookies.get(PRELOGIN_COOKIE)):
        raise HTTPException(403, "Thiếu hoặc sai mã CSRF; tải lại trang đăng nhập. / missing or wrong CSRF token.")
    address = client_address(request)
    username = body.username.strip().lower()
    limiter = request.app.state.login_limiter
    wait = limiter.retry_after_s(username, address)
    if wait > 0:
        if limiter.first_refusal(username, address):
            dashboard.audit.log(username, "login_refused_rate_limit", address=address)
        raise HTTPException(429, f"Đăng nhập sai quá nhiều lần; thử lại sau {wait:.0f} giây. / "
                                 f"too many failed logins; retry in {wait:.0f} s.",
                            headers={"Retry-After": str(max(1, round(wait)))})
    account = dashboard.accounts.verify(username, body.password)
    if account is None:
        limiter.failed(username, address)
        dashboard.audit.log(username, "login_failed", address=address)
        raise HTTPException(401, "Sai tên đăng nhập hoặc mật khẩu. / wrong username or password.")
    limiter.succeeded(username)
    token, session = dashboard.accounts.start_session(account, address)
    s = dashboard.settings
    response.set_cookie(SESSION_COOKIE, token, max_age=int(s.session_ttl_s), httponly=True, samesite="strict",
                        secure=s.cookie_secure, path="/")
    response.delete_cookie(PRELOGIN_COOKIE, path="/api/auth")
    dashboard.audit.log(account.username, "login", address=address)
    return _me(session, dashboard)


@router.post("/logout", status_code=204)
def logout(request: Request, session: Annotated[WebSession, Depends(require("staff"))],
           dashboard: Annotated[Dashboard, Depends(get_dashboard)]) -> Response:
    dashboard.accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
    dashboard.audit.log(session.account.username, "logout", address=client_address(request))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me)
def me(request: Request, dashboard: Annotated[Dashboard, Depends(get_dashboard)]) -> Me:
    session = session_of(request)
    if session is None:
        raise HTTPException(401, "Cần đăng nhập. / login required.")
    return _me(session, dashboard)
