"""What a web app refused, counted once for both apps (the kiosk page and the staff dashboard).

:class:`CountRejections` (outermost ASGI middleware) counts every 4xx answer (validation, too
large, bad JSON, unknown route, no login ...) by status, with the answer's own message as the
reason, and every 5xx; the WebSocket routes count refused frames with :func:`receive_frame`.
``/healthz`` shows :meth:`Rejections.snapshot`; the ui and dashboard nodes publish
:meth:`Rejections.diagnostics`.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

__all__ = ["CountRejections", "Rejections", "receive_frame"]

_REASON_CHARS = 160
_WS_TOO_BIG = 1009  # the server closed the socket: a frame over its size limit


class Rejections:
    """Thread-safe counters of refused requests and frames, with the latest reason."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.ws_frames = 0
        self.server_errors = 0
        self.by_status: dict[int, int] = {}
        self.last = ""

    def request(self, method: str, path: str, status: int, reason: str) -> None:
        with self._lock:
            if status >= 500:
                self.server_errors += 1
            else:
                self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.last = f"{method} {path[:80]} {status}: {reason[:_REASON_CHARS]}"

    def ws_frame(self, path: str, reason: str) -> None:
        with self._lock:
            self.ws_frames += 1
            self.last = f"WebSocket {path[:80]}: {reason[:_REASON_CHARS]}"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"rejected_requests": self.requests, "rejected_ws_frames": self.ws_frames,
                    "server_errors": self.server_errors,
                    "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                    "last_rejected": self.last}

    def diagnostics(self) -> dict[str, str]:
        """The snapshot as diagnostics key/values (``http_`` prefixed where a node has its own)."""
        snap = self.snapshot()
        return {"rejected_requests": str(snap["rejected_requests"]),
                "rejected_ws_frames": str(snap["rejected_ws_frames"]),
                "http_server_errors": str(snap["server_errors"]),
                "http_last_rejected": snap["last_rejected"]}


def _reason(status: int, body: bytes) -> str:
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        for key in ("message", "detail"):
            if isinstance(obj.get(key), str):
                return obj[key]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "refused"


class CountRejections:
    """Count every 4xx/5xx answer of the app it wraps (add it last: outermost, sees every refusal)."""

    def __init__(self, app: ASGIApp, rejections: Rejections) -> None:
        self.app = app
        self.rejections = rejections

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        body = b""

        async def counting_send(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400 and len(body) < 4096:
                body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except Exception as exc:
            self.rejections.request(scope.get("method", "?"), scope.get("path", ""), 500, repr(exc))
            raise
        if status >= 400:
            self.rejections.request(scope.get("method", "?"), scope.get("path", ""), status, _reason(status, body))


async def receive_frame(websocket: WebSocket, rejections: Rejections) -> str | bytes | None:
    """The next frame (text or bytes), or None once the client is gone; a frame the server refused
    for its size (close code 1009) is counted."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        if message.get("code") == _WS_TOO_BIG:
            rejections.ws_frame(websocket.url.path, "frame over the server's size limit: socket closed")
        return None
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""
