"""FastAPI dependencies: the dashboard core, the logged-in staff member, role and CSRF checks.

Order of refusals for a staff API: no valid session → 401; a state-changing request without the
session's CSRF token → 403; a role below the one the route needs → 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request, WebSocket

from kiosk_ui.dashboard.accounts import WebSession
from kiosk_ui.dashboard.core import Dashboard
from kiosk_ui.dashboard.kb_client import KbClient, TrainJob
from kiosk_ui.dashboard.settings import DashboardSettings, role_at_least

__all__ = [
    "CSRF_HEADER",
    "PRELOGIN_COOKIE",
    "SESSION_COOKIE",
    "client_address",
    "get_dashboard",
    "get_kb",
    "get_settings",
    "get_train_job",
    "require",
    "session_of",
]

SESSION_COOKIE = "kdash_session"
PRELOGIN_COOKIE = "kdash_prelogin"
CSRF_HEADER = "x-csrf-token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_LOGGED_IN = "Cần đăng nhập. / login required."


def get_dashboard(request: Request) -> Dashboard:
    return request.app.state.dashboard


def get_settings(request: Request) -> DashboardSettings:
    return request.app.state.dashboard.settings


def get_kb(request: Request) -> KbClient:
    return request.app.state.kb


def get_train_job(request: Request) -> TrainJob:
    return request.app.state.train_job


def client_address(request: Request | WebSocket) -> str:
    return request.client.host if request.client else "unknown"


def session_of(conn: Request | WebSocket) -> WebSession | None:
    dashboard: Dashboard = conn.app.state.dashboard
    return dashboard.accounts.find_session(conn.cookies.get(SESSION_COOKIE))


def tokens_match(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def require(role: str = "staff") -> Callable[[Request], WebSession]:
    """A dependency: the caller's session, with CSRF checked on state-changing methods."""

    def dependency(request: Request) -> WebSession:
        session = session_of(request)
        if session is None:
            raise HTTPException(status_code=401, detail=NOT_LOGGED_IN)
        if request.method in _UNSAFE and not tokens_match(request.headers.get(CSRF_HEADER), session.csrf_token):
            raise HTTPException(status_code=403, detail="Thiếu hoặc sai mã CSRF. / missing or wrong CSRF token.")
        if not role_at_least(session.account.role, role):
            raise HTTPException(status_code=403, detail=f"Cần quyền {role}. / this needs the {role} role.")
        return session

    dependency.__name__ = f"require_{role}"
    return dependency

