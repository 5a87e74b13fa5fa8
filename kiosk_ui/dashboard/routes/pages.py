"""The dashboard's HTML pages. No inline script (the CSP forbids it): each page loads its own JS."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk_ui.dashboard.deps import session_of
from kiosk_ui.dashboard.settings import role_at_least

__all__ = ["PAGES", "STATIC_DIR", "router"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# path → (template, role needed, title)
PAGES = {
    "/": ("live.html", "staff", "Trực tiếp"),
    "/stats": ("stats.html", "staff", "Thống kê"),
    "/kb": ("kb.html", "staff", "Cơ sở tri thức"),
    "/admin": ("admin.html", "admin", "Quản trị"),
}

router = APIRouter(tags=["pages"])


@lru_cache(maxsize=16)
def _template(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def _render(name: str, request: Request, title: str) -> HTMLResponse:
    center = html.escape(request.app.state.dashboard.settings.center_name)
    body = _template(name).replace("{{CENTER_NAME}}", center).replace("{{TITLE}}", html.escape(title))
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if session_of(request) is not None:
        return RedirectResponse("/", status_code=303)
    return _render("login.html", request, "Đăng nhập")


def _page(path: str):
    template, role, title = PAGES[path]

    def page(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        if not role_at_least(session.account.role, role):
            return HTMLResponse("<!doctype html><meta charset=utf-8><title>403</title>"
                                f"<p>Trang này cần quyền {html.escape(role)}. / This page needs the {role} role. "
                                '<a href="/">Trở về / back</a></p>', status_code=403)
        return _render(template, request, title)

    page.__name__ = f"page_{template.removesuffix('.html')}"
    return page


for _path in PAGES:
    router.add_api_route(_path, _page(_path), methods=["GET"], response_class=HTMLResponse)


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    """For a process monitor: no data, no login; what the app refused (counts and the latest reason)."""
    return {"status": "ok" if not request.app.state.dashboard.db.problem else "storage_problem",
            "rejections": request.app.state.rejections.snapshot()}
