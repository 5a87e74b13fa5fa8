"""Application factory for the kiosk touchscreen page."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from kiosk_protocol import UserInput
from kiosk_ui.hub import EventHub

__all__ = ["STATIC_DIR", "BackgroundServer", "InputCallback", "UiSettings", "create_app"]

_LOG = logging.getLogger("kiosk_ui.app")

STATIC_DIR = Path(__file__).resolve().parent / "static"

InputCallback = Callable[[UserInput], None]


@dataclass(frozen=True)
class UiSettings:
    """What the page shows and how it behaves."""

    center_name: str = "Trung tâm Phục vụ hành chính công"
    reply_timeout_s: float = 15.0  # the page apologises when no reply arrives within this time
    session_id: str = ""  # put on every UserInput whose request names no session
    staff_request_text: str = "cho tôi gặp cán bộ"  # what the "Gọi cán bộ" button sends
    reconnect_max_s: float = 5.0  # longest wait between WebSocket reconnect attempts

    def __post_init__(self) -> None:
        if self.reply_timeout_s <= 0 or self.reconnect_max_s <= 0:
            raise ValueError("reply_timeout_s and reconnect_max_s must be > 0 seconds")


def _log_input(msg: UserInput) -> None:
    _LOG.info("user input with no on_input callback: %s %r", msg.action, msg.text)


def create_app(
    hub: EventHub, on_input: InputCallback | None = None, settings: UiSettings | None = None
) -> FastAPI:
    """Build the app. ``on_input`` is called on the server's thread and must return quickly."""
    from kiosk_ui.routes import kiosk, live

    settings = settings or UiSettings()

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
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(kiosk.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 with one readable ``message`` (Vietnamese / English) plus the field errors."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": _readable(e)} for e in exc.errors()]
    message = errors[0]["msg"] if errors else "Yêu cầu không hợp lệ. / Invalid request."
    return JSONResponse(status_code=422, content={"message": message, "errors": errors})


def _readable(error: dict) -> str:
    name = str(error.get("loc", ("", "?"))[-1])
    if error.get("type") == "missing":
        return f"Thiếu thông tin bắt buộc '{name}'. / field '{name}' is required."
    if error.get("type") == "json_invalid":
        return "Dữ liệu gửi lên không đúng định dạng JSON. / the request body is not valid JSON."
    if error.get("type") in {"model_attributes_type", "dict_type"}:
        return 'Dữ liệu gửi lên không hợp lệ. / the body must be a JSON object like {"text": "..."}.'
    return str(error.get("msg", "")).removeprefix("Value error, ")


class BackgroundServer:
    """Run an app with uvicorn in a daemon thread; ``port=0`` picks a free port."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        import uvicorn

        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
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
