"""The page itself and its small JSON API: ask, input, session, rating, push-to-talk, health, config."""

from __future__ import annotations

import html
import json
import logging
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from kiosk_protocol import Rating, UserInput
from kiosk_ui.app import STATIC_DIR, KioskBridge, UiSettings
from kiosk_ui.hub import EventHub
from kiosk_ui.routes.models import (
    AskAccepted,
    AskRequest,
    InputRequest,
    PushToTalkRequest,
    RatingRequest,
    SessionRequest,
    deliver_input,
    session_for,
    unknown_procedure,
)

__all__ = ["CONTENT_SECURITY_POLICY", "page_config", "router"]

_LOG = logging.getLogger("kiosk_ui.routes.kiosk")

router = APIRouter(tags=["kiosk"])

_CALLBACK_FAILED = "Xin lỗi, robot đang gặp sự cố, xin bà con chờ cán bộ hỗ trợ. / "
# The page loads only its own files and talks only to its own server: no CDN, no outside site,
# no frame, no form posted elsewhere. Links to other sites open nothing (the script stops them too).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-src 'none'; frame-ancestors 'none'; form-action 'none'; "
    "base-uri 'none'; object-src 'none'"
)


@lru_cache(maxsize=1)
def _template() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def page_config(settings: UiSettings, bridge: KioskBridge | None = None) -> dict[str, Any]:
    """The settings the page's script needs."""
    return {
        "center_name": settings.center_name,
        "reply_timeout_s": settings.reply_timeout_s,
        "session_id": settings.session_id,
        "staff_request_text": settings.staff_request_text,
        "reconnect_max_s": settings.reconnect_max_s,
        "idle_timeout_s": settings.idle_timeout_s,
        "can_print": bool(bridge and bridge.printer),
    }


@router.get("/", response_class=HTMLResponse)
async def page(request: Request) -> HTMLResponse:
    settings: UiSettings = request.app.state.settings
    config = json.dumps(page_config(settings, request.app.state.bridge), ensure_ascii=False).replace("<", "\\u003c")
    body = _template().replace("{{CENTER_NAME}}", html.escape(settings.center_name))
    body = body.replace("{{CONFIG_JSON}}", config)
    return HTMLResponse(body, headers={"Cache-Control": "no-store", "Content-Security-Policy": CONTENT_SECURITY_POLICY})


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    hub: EventHub = request.app.state.hub
    index = request.app.state.bridge.catalog.index
    return {"status": "ok", "clients": hub.client_count, "recent_events": len(hub.recent()),
            "catalog_version": index.catalog.version if index else None,
            "rejections": request.app.state.rejections.snapshot()}


@router.get("/api/config")
async def config(request: Request) -> dict[str, Any]:
    return page_config(request.app.state.settings, request.app.state.bridge)


def _deliver(request: Request, msg: UserInput) -> AskAccepted:
    try:
        deliver_input(request, msg)
    except RuntimeError as exc:
        raise HTTPException(status_code=503, detail=_CALLBACK_FAILED + str(exc)) from exc
    return AskAccepted(input_id=msg.input_id, session_id=msg.session_id)


@router.post("/api/ask", status_code=202, response_model=AskAccepted)
async def ask(body: AskRequest, request: Request) -> AskAccepted:
    return _deliver(request, UserInput(text=body.text, session_id=session_for(request, body.session_id)))


@router.post("/api/input", status_code=202, response_model=AskAccepted)
async def user_input(body: InputRequest, request: Request) -> AskAccepted:
    """A question, a touched procedure (``select_procedure``), "Nghe lại" (``repeat``) or an old address."""
    if body.action == "select_procedure" and (error := unknown_procedure(request, body.procedure_id)):
        raise HTTPException(status_code=404, detail=error)
    msg = UserInput(action=body.action, text=body.text, procedure_id=body.procedure_id,
                    session_id=session_for(request, body.session_id))
    return _deliver(request, msg)


@router.post("/api/session", status_code=202, response_model=AskAccepted)
async def session(body: SessionRequest, request: Request) -> AskAccepted:
    action = "start_session" if body.action == "start" else "end_session"
    return _deliver(request, UserInput(action=action, session_id=session_for(request, body.session_id)))


@router.post("/api/rating", status_code=202)
async def rating(body: RatingRequest, request: Request) -> dict[str, str]:
    """A citizen's 1–5 rating; the ui node publishes it on ``ui/rating`` for the staff dashboard."""
    bridge: KioskBridge = request.app.state.bridge
    hub: EventHub = request.app.state.hub
    current = hub.session
    session_id = body.session_id or (current.session_id if current and current.event == "started" else "")
    msg = Rating(score=body.score, reply_id=body.reply_id, procedure_id=body.procedure_id, trigger=body.trigger,
                 session_id=session_id)
    if bridge.on_rating is not None:
        try:
            bridge.on_rating(msg)
        except Exception as exc:
            _LOG.exception("on_rating failed")
            raise HTTPException(status_code=503, detail=_CALLBACK_FAILED + str(exc)) from exc
    return {"rating_id": msg.rating_id, "session_id": session_id}


@router.post("/api/push_to_talk", status_code=202)
async def push_to_talk(body: PushToTalkRequest, request: Request) -> dict[str, bool]:
    """The microphone button is held (``pressed: true``) or released."""
    bridge: KioskBridge = request.app.state.bridge
    if bridge.on_push_to_talk is None:
        raise HTTPException(status_code=409, detail="Robot chưa có micro. / no microphone on this kiosk.")
    try:
        bridge.on_push_to_talk(body.pressed)
    except Exception as exc:
        _LOG.exception("on_push_to_talk failed")
        raise HTTPException(status_code=503, detail=_CALLBACK_FAILED + str(exc)) from exc
    return {"pressed": body.pressed}
