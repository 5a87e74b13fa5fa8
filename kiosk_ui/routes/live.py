"""WebSocket /ws: pushes every hub event to the page and takes typed questions from it.

Server → page, one JSON text frame per event: ``{"kind": "hello", "replay": N}`` first, then the
N remembered events (states last), then live events: the JSON of ``kiosk_protocol.encode(...)``
for protocol messages, ``{"kind": "state"|"status"|"clear", ...}`` otherwise. Answers to the
page's own frames: ``{"kind": "ack", "input_id", "client_ref"}`` or ``{"kind": "error", "message"}``.

Page → server: ``{"kind": "user_input", "action"?: "text"|"select_procedure"|"repeat"|"lookup_address",
"text"?: ..., "procedure_id"?: ..., "session_id"?: ..., "client_ref"?: ...}`` (``action`` defaults to text).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from kiosk_protocol import UserInput
from kiosk_ui.hub import EventHub, Subscription
from kiosk_ui.rejections import Rejections, receive_frame
from kiosk_ui.routes.models import InputRequest, deliver_input, session_for, unknown_procedure

__all__ = ["router"]

_LOG = logging.getLogger("kiosk_ui.routes.live")

router = APIRouter(tags=["live"])

_MAX_FRAME_CHARS = 64_000  # a typed question is at most 10,000 characters


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    hub: EventHub = websocket.app.state.hub
    await websocket.accept()
    sub = hub.subscribe()
    sender = asyncio.create_task(_send_events(websocket, sub))
    receiver = asyncio.create_task(_receive_inputs(websocket))
    try:
        done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                _LOG.warning("WebSocket client ended with %r", exc)
    finally:
        hub.unsubscribe(sub)
        for task in (sender, receiver):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await websocket.close(code=1013 if sub.overflowed else 1000)


async def _send_events(websocket: WebSocket, sub: Subscription) -> None:
    await websocket.send_text(json.dumps({"kind": "hello", "replay": len(sub.replay)}))
    for data in sub.replay:
        await websocket.send_text(data)
    sub.replay = []
    while True:
        data = await sub.queue.get()
        if data is None:  # the hub cut this client off (too slow) or the server is stopping
            return
        await websocket.send_text(data)


async def _receive_inputs(websocket: WebSocket) -> None:
    rejections: Rejections = websocket.app.state.rejections
    while (raw := await receive_frame(websocket, rejections)) is not None:
        if isinstance(raw, bytes):
            reply = _error("Dữ liệu không hợp lệ. / binary frames are not accepted: send JSON text.", None)
        else:
            reply = _handle_frame(websocket, raw)
        if reply["kind"] == "error":
            rejections.ws_frame(websocket.url.path, str(reply["message"]))
        await websocket.send_text(json.dumps(reply, ensure_ascii=False))


def _handle_frame(websocket: WebSocket, raw: str) -> dict[str, object]:
    if len(raw) > _MAX_FRAME_CHARS:
        return _error("Câu hỏi quá dài. / frame too large.", None)
    try:
        frame = json.loads(raw)
    except json.JSONDecodeError:
        return _error("Dữ liệu không hợp lệ. / frame is not JSON.", None)
    if not isinstance(frame, dict) or frame.get("kind") != "user_input":
        return _error("Dữ liệu không hợp lệ. / expected {'kind': 'user_input', 'text': ...}.", None)
    client_ref = frame.get("client_ref")
    try:
        body = InputRequest.model_validate(frame)
    except ValidationError as exc:
        msg = str(exc.errors()[0].get("msg", "")).removeprefix("Value error, ")
        return _error(msg, client_ref)
    if body.action == "select_procedure" and (error := unknown_procedure(websocket, body.procedure_id)):
        return _error(error, client_ref)
    msg = UserInput(action=body.action, text=body.text, procedure_id=body.procedure_id,
                    session_id=session_for(websocket, body.session_id))
    try:
        deliver_input(websocket, msg)
    except RuntimeError as exc:
        return _error(f"Xin lỗi, robot đang gặp sự cố. / {exc}", client_ref)
    return {"kind": "ack", "input_id": msg.input_id, "client_ref": client_ref}


def _error(message: str, client_ref: object) -> dict[str, object]:
    return {"kind": "error", "message": message, "client_ref": client_ref}
