"""The live view: every kiosk's health and visit in progress, escalations, and the staff WebSocket.

WebSocket ``/ws`` (the session cookie is required, and the same origin): first
``{"kind": "snapshot", ...}`` (kiosks, storage, training), then live events from the core
(``kiosk_health``, ``turn``, ``visit``, ``escalation_state``, ``storage``, ``training``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from kiosk_ui.dashboard.accounts import WebSession
from kiosk_ui.dashboard.core import Dashboard
from kiosk_ui.dashboard.deps import client_address, get_dashboard, require, session_of
from kiosk_ui.dashboard.security import is_same_origin
from kiosk_ui.rejections import Rejections, receive_frame

__all__ = ["router"]

_LOG = logging.getLogger("kiosk_ui.dashboard.live")

router = APIRouter(tags=["live"])
Staff = Annotated[WebSession, Depends(require("staff"))]
Core = Annotated[Dashboard, Depends(get_dashboard)]


class EscalationAction(BaseModel):
    message_vi: str = Field(default="", max_length=500)  # what the kiosk shows; a default sentence if empty


@router.get("/api/kiosks")
def kiosks(_: Staff, dashboard: Core) -> dict[str, Any]:
    return {**dashboard.live.snapshot(), "storage": dashboard.storage_status()}


@router.get("/api/status")
def status(_: Staff, request: Request, dashboard: Core) -> dict[str, Any]:
    return {"storage": dashboard.storage_status(), "kiosks": dashboard.live.kiosks,
            "training": request.app.state.train_job.status(), "events_in": dashboard.events_in}


@router.get("/api/escalations")
def escalations(_: Staff, dashboard: Core, limit: Annotated[int, Query(ge=1)] = 100) -> list[dict[str, Any]]:
    rows = dashboard.db.query("SELECT * FROM escalations ORDER BY created_unix_s DESC LIMIT ?", (min(limit, 1000),))
    return [dict(r) for r in rows]


def _act(escalation_id: str, status: str, body: EscalationAction, request: Request, session: WebSession,
         dashboard: Dashboard) -> dict[str, Any]:
    try:
        row = dashboard.update_escalation(escalation_id, status, session.account.display_name,
                                          session.account.username, body.message_vi)
    except KeyError as exc:
        raise HTTPException(404, f"Không có yêu cầu hỗ trợ '{escalation_id}'. / "
                                 f"no escalation '{escalation_id}'.") from exc
    dashboard.audit.log(session.account.username, f"escalation_{status}", f"{row['kiosk']}:{escalation_id}",
                        body.message_vi, client_address(request))
    return row


@router.post("/api/escalations/{escalation_id}/acknowledge")
def acknowledge(escalation_id: str, body: EscalationAction, request: Request, session: Staff,
                dashboard: Core) -> dict[str, Any]:
    return _act(escalation_id, "acknowledged", body, request, session, dashboard)


@router.post("/api/escalations/{escalation_id}/resolve")
def resolve(escalation_id: str, body: EscalationAction, request: Request, session: Staff,
            dashboard: Core) -> dict[str, Any]:
    return _act(escalation_id, "resolved", body, request, session, dashboard)


@router.websocket("/ws")
async def staff_socket(websocket: WebSocket) -> None:
    dashboard: Dashboard = websocket.app.state.dashboard
    headers = {k.lower(): v for k, v in websocket.headers.items()}
    if not is_same_origin(headers, dashboard.settings.extra_origins) or session_of(websocket) is None:
        websocket.app.state.rejections.ws_frame(websocket.url.path, "connection refused: no session or another origin")
        await websocket.close(code=1008)  # refused before the handshake completes: HTTP 403
        return
    await websocket.accept()
    sub = dashboard.hub.subscribe()
    try:
        snapshot = {"kind": "snapshot", **dashboard.live.snapshot(), "storage": dashboard.storage_status(),
                    "training": websocket.app.state.train_job.status()}
        await websocket.send_text(json.dumps(snapshot, ensure_ascii=False, default=str))
        receiver = asyncio.create_task(_drain(websocket))
        while not receiver.done():
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            data = getter.result()
            if data is None:
                break
            if session_of(websocket) is None:  # logged out or expired meanwhile
                break
            await websocket.send_text(data)
        receiver.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        dashboard.hub.unsubscribe(sub)
        with contextlib.suppress(Exception):
            await websocket.close(code=1013 if sub.overflowed else 1000)


async def _drain(websocket: WebSocket) -> None:
    """The staff page sends nothing: each frame is counted as refused and ignored, one over 1000
    characters (or bytes) closes the socket; returns when the page disconnects."""
    rejections: Rejections = websocket.app.state.rejections
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (frame := await receive_frame(websocket, rejections)) is not None:
            rejections.ws_frame(websocket.url.path, f"the staff socket takes no input ({len(frame)} "
                                f"{'bytes' if isinstance(frame, bytes) else 'characters'} ignored)")
            if len(frame) > 1000:
                return
