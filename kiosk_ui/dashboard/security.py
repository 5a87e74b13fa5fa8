"""HTTP hardening of the dashboard: security headers, bounded bodies, same-origin checks.

Pure ASGI middlewares, so they also cover static files and error responses. No CORS middleware is
installed on purpose: no other origin (the kiosk page's included) may read any response.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

__all__ = ["CSP", "RequestGuard", "SecurityHeaders", "is_same_origin"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_same_origin(headers: Mapping[str, str], extra_origins: Iterable[str] = ()) -> bool:
    """True unless the browser says the request comes from another origin.

    ``Origin`` must be this server (as the ``Host`` header names it) or a configured extra
    origin; without ``Origin``, ``Sec-Fetch-Site`` must be ``same-origin`` or ``none`` when sent.
    A page on another port of the same host (the kiosk page) is another origin.
    """
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None:
        return origin in {f"http://{host}", f"https://{host}", *extra_origins}
    return headers.get("sec-fetch-site", "same-origin") in {"same-origin", "none"}


def _headers_of(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def _reply(send: Send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *_HEADERS]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Add CSP (no inline script, frame-ancestors none), nosniff, referrer policy, ... to every response."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS if k not in names]
                if scope["path"].startswith("/api/") and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestGuard:
    """Refuse bodies over ``max_body_bytes`` (413) and state-changing requests from another origin (403)."""

    def __init__(self, app: App, max_body_bytes: int, extra_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.extra_origins = tuple(extra_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers_of(scope)
        if scope["method"] not in _SAFE_METHODS and not is_same_origin(headers, self.extra_origins):
            await _reply(send, 403, "Yêu cầu từ trang khác bị từ chối. / cross-origin request refused.")
            return
        declared = headers.get("content-length")
        limit = self.max_body_bytes
        too_big = f"Dữ liệu gửi lên quá lớn (tối đa {limit} byte). / body over {limit} bytes."
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _reply(send, 413, too_big)
            return
        if scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        # Read the (bounded) body first, so a chunked upload without Content-Length is bounded too.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                await _reply(send, 413, too_big)
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


