"""Application factory for the kiosk touchscreen page."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk_protocol import Catalog, Rating, UserInput
from kiosk_ui.catalog_store import CatalogStore
from kiosk_ui.hub import EventHub
from kiosk_ui.limits import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from kiosk_ui.printing import Printer
from kiosk_ui.rejections import CountRejections, Rejections

__all__ = [
    "MAX_WS_FRAME_BYTES",
    "STATIC_DIR",
    "BackgroundServer",
    "InputCallback",
    "KioskBridge",
    "UiSettings",
    "create_app",
]

_LOG = logging.getLogger("kiosk_ui.app")

STATIC_DIR = Path(__file__).resolve().parent / "static"

InputCallback = Callable[[UserInput], None]
MAX_WS_FRAME_BYTES = 64 * 1024  # uvicorn refuses larger WebSocket frames (its default is 16 MiB)


@dataclass(frozen=True)
class UiSettings:
    """What the page shows and how it behaves."""

    center_name: str = "Trung tâm Phục vụ hành chính công"
    reply_timeout_s: float = 15.0  # the page apologises when no reply arrives within this time
    session_id: str = ""  # put on every UserInput whose request names no session
    staff_request_text: str = "cho tôi gặp cán bộ"  # what the "Gọi cán bộ" button sends
    reconnect_max_s: float = 5.0  # longest wait between WebSocket reconnect attempts
    idle_timeout_s: float = 90.0  # no touch and no talk this long: home, and the visit is cleared
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # larger request bodies get 413

    def __post_init__(self) -> None:
        if self.reply_timeout_s <= 0 or self.reconnect_max_s <= 0 or self.idle_timeout_s <= 0:
            raise ValueError("reply_timeout_s, reconnect_max_s and idle_timeout_s must be > 0 seconds")
        if self.max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be > 0")


@dataclass
class KioskBridge:
    """What the page reaches beyond the hub; each callback runs on the server's thread, returns quickly.

    ``on_rating`` takes a citizen's rating (the ui node publishes it on ``ui/rating``);
    ``on_push_to_talk`` takes the microphone button's pressed state; ``printer`` is None when
    CUPS has no printer (the page then hides its print button).
    """

    catalog: CatalogStore = field(default_factory=CatalogStore)
    on_rating: Callable[[Rating], None] | None = None
    on_push_to_talk: Callable[[bool], None] | None = None
    printer: Printer | None = None


def _log_input(msg: UserInput) -> None:
    _LOG.info("user input with no on_input callback: %s %r", msg.action, msg.text)


def create_app(
    hub: EventHub,
    on_input: InputCallback | None = None,
    settings: UiSettings | None = None,
    bridge: KioskBridge | None = None,
    catalog: Catalog | None = None,
) -> FastAPI:
    """Build the app. ``on_input`` is called on the server's thread and must return quickly.

    ``catalog`` (a shortcut for tests and tools) is put into the bridge's catalog store.
    """
    from kiosk_ui.routes import catalog as catalog_routes
    from kiosk_ui.routes import kiosk, live

    settings = settings or UiSettings()
    bridge = bridge or KioskBridge()
    if catalog is not None:
        bridge.catalog.set(catalog)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        hub.attach_loop(asyncio.get_running_loop())
        _LOG.info("kiosk UI started for %s", settings.center_name)
        try:
            yield
        finally:
            hub.detach_loop()
            _LOG.info("kiosk UI stopped")

    app = FastAPI(title="Kiosk touchscreen", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.hub = hub
    app.state.on_input = on_input or _log_input
    app.state.settings = settings
    app.state.bridge = bridge
    app.state.rejections = Rejections()  # on /healthz and in the ui node's diagnostics
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CountRejections, rejections=app.state.rejections)  # outermost: sees every refusal
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(kiosk.router)
    app.include_router(catalog_routes.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with one readable ``message`` (Vietnamese / English) plus the field errors."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": _readable(e)} for e in exc.errors()]
    message = errors[0]["msg"] if errors else "Yêu cầu không hợp lệ. / Invalid request."
    return JSONResponse(status_code=422, content={"message": message, "errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Every HTTP error as ``{"message", "detail"}``: the page shows ``message``'s Vietnamese part."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "Yêu cầu không hợp lệ. / Invalid request."
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Không có trang này. / no such page or API route."
    elif exc.status_code == 405:
        detail = "Yêu cầu không hợp lệ. / method not allowed on this route."
    return JSONResponse(status_code=exc.status_code, content={"message": detail, "detail": detail},
                        headers=getattr(exc, "headers", None))


def _readable(error: dict) -> str:
    name = str(error.get("loc", ("", "?"))[-1])
    if error.get("type") == "missing":
        return f"Thiếu thông tin bắt buộc '{name}'. / field '{name}' is required."
    if error.get("type") == "json_invalid":
        return "Dữ liệu gửi lên không đúng định dạng JSON. / the request body is not valid JSON."
    if error.get("type") in {"model_attributes_type", "dict_type"}:
        return 'Dữ liệu gửi lên không hợp lệ. / the body must be a JSON object like {"text": "..."}.'
    return str(error.get("msg", "")).removeprefix("Value error, ")


def uvicorn_config(app: FastAPI, host: str, port: int, log_level: str = "warning"):
    """uvicorn's settings for the kiosk page: WebSocket frames bounded like HTTP bodies."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level, ws_max_size=MAX_WS_FRAME_BYTES)


class BackgroundServer:
    """Run an app with uvicorn in a daemon thread; ``port=0`` picks a free port."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        import uvicorn

        self._server = uvicorn.Server(uvicorn_config(app, host, port, log_level))
        self._thread = threading.Thread(target=self._server.run, name="kiosk-ui-server", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> BackgroundServer:
        """Start and wait until the server accepts connections; raise ``RuntimeError`` otherwise."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(
                    f"kiosk UI server did not start on {self.host}:{self.port} "
                    "(port in use? see the uvicorn error above)"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kiosk UI server did not start within {timeout_s} s")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask uvicorn to exit (closing WebSockets) and wait for the thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
