"""The page itself and its small JSON API: ask, session, health, config."""

from __future__ import annotations

import html
import json
import logging
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from kiosk_protocol import UserInput
from kiosk_ui.app import STATIC_DIR, UiSettings
from kiosk_ui.hub import EventHub
from kiosk_ui.routes.models import AskAccepted, AskRequest, SessionRequest, deliver_input, session_for

__all__ = ["page_config", "router"]

_LOG = logging.getLogger("kiosk_ui.routes.kiosk")

router = APIRouter(tags=["kiosk"])

_CALLBACK_FAILED = "Xin lỗi, robot đang gặp sự cố, xin bà con chờ cán bộ hỗ trợ. / "


@lru_cache(maxsize=1)
def _template() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def page_config(settings: UiSettings) -> dict[str, Any]:
    """The settings the page's script needs."""
    return {
        "center_name": settings.center_name,
        "reply_timeout_s": settings.reply_timeout_s,
        "session_id": settings.session_id,
        "staff_request_text": settings.staff_request_text,
        "reconnect_max_s": settings.reconnect_max_s,
    }


@router.get("/", response_class=HTMLResponse)
async def page(request: Request) -> HTMLResponse:
    settings: UiSettings = request.app.state.settings
    config = json.dumps(page_config(settings), ensure_ascii=False).replace("<", "\\u003c")
    body = _template().replace("{{CENTER_NAME}}", html.escape(settings.center_name))
    body = body.replace("{{CONFIG_JSON}}", config)
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    hub: EventHub = request.app.state.hub
    return {"status": "ok", "clients": hub.client_count, "recent_events": len(hub.recent())}


@router.get("/api/config")
async def config(request: Request) -> dict[str, Any]:
    return page_config(request.app.state.settings)


@router.post("/api/ask", status_code=202, response_model=AskAccepted)
async def ask(body: AskRequest, request: Request) -> AskAccepted:
    msg = UserInput(text=body.text, session_id=session_for(request, body.session_id))
    try:
        deliver_input(request, msg)
    except RuntimeError as exc:
        raise HTTPException(status_code=503, detail=_CALLBACK_FAILED + str(exc)) from exc
    return AskAccepted(input_id=msg.input_id, session_id=msg.session_id)


@router.post("/api/session", status_code=202, response_model=AskAccepted)
async def session(body: SessionRequest, request: Request) -> AskAccepted:
    action = "start_session" if body.action == "start" else "end_session"
    msg = UserInput(action=action, session_id=session_for(request, body.session_id))
    try:
        deliver_input(request, msg)
    except RuntimeError as exc:
        raise HTTPException(status_code=503, detail=_CALLBACK_FAILED + str(exc)) from exc
    return AskAccepted(input_id=msg.input_id, session_id=msg.session_id)
