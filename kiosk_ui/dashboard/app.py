"""Application factory for the staff dashboard (its own app and port, separate from the kiosk page)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from kiosk_ui.app import _validation_error
from kiosk_ui.dashboard.core import Dashboard
from kiosk_ui.dashboard.kb_client import KbClient, TrainJob
from kiosk_ui.dashboard.ratelimit import LoginLimiter
from kiosk_ui.dashboard.routes import accounts, auth, kb, live, pages, stats
from kiosk_ui.dashboard.security import RequestGuard, SecurityHeaders
from kiosk_ui.hub import EventHub
from kiosk_ui.rejections import CountRejections, Rejections

__all__ = ["create_app"]

_LOG = logging.getLogger("kiosk_ui.dashboard.app")


def create_app(dashboard: Dashboard, *, maintenance_period_s: float = 1.0) -> FastAPI:
    """Build the app around a :class:`Dashboard` core.

    The lifespan binds the event hub to the server's loop and runs the core's maintenance
    (health push to the pages, held-back writes, retention purge) every ``maintenance_period_s``.
    """
    settings = dashboard.settings
    kb_client = KbClient(settings)
    hub: EventHub = dashboard.hub

    def reload_all() -> dict:
        return dashboard.hooks.reload_dialogue(dashboard.live.kiosks)

    train_job = TrainJob(settings, kb_client, on_change=lambda s: hub.publish({"kind": "training", "training": s}),
                         reload_kiosks=reload_all)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.attach_loop(asyncio.get_running_loop())
        task = asyncio.create_task(_maintain(dashboard, maintenance_period_s))
        _LOG.info("staff dashboard for %s started", settings.center_name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            hub.detach_loop()

    app = FastAPI(title="Kiosk staff dashboard", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard = dashboard
    app.state.kb = kb_client
    app.state.train_job = train_job
    app.state.login_limiter = LoginLimiter(settings.login_failures_per_account, settings.login_failures_per_address)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for router in (auth.router, accounts.router, live.router, stats.router, kb.router, pages.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_body_bytes, extra_origins=settings.extra_origins)
    app.add_middleware(SecurityHeaders)
    app.state.rejections = Rejections()  # on /healthz and in the dashboard node's diagnostics
    app.add_middleware(CountRejections, rejections=app.state.rejections)  # outermost: sees every refusal
    return app


async def _maintain(dashboard: Dashboard, period_s: float) -> None:
    while True:
        try:
            await asyncio.to_thread(dashboard.maintenance)
        except Exception:  # keep the dashboard serving whatever one round did
            _LOG.exception("dashboard maintenance failed")
        await asyncio.sleep(period_s)
