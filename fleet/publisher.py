"""The center side: put each kiosk's health, escalations and stats; answer queries for the latest."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

from fleet.keys import FleetKeys


class CenterPublisher:
    """Owns a Zenoh session for one center. ``put`` sends and keeps the latest value per key."""

    def __init__(self, session, keys: FleetKeys) -> None:
        import zenoh

        self._zenoh = zenoh
        self.session = session
        self.keys = keys
        self._latest: dict[str, str] = {}
        self._lock = threading.Lock()
        self.sent = 0
        self._queryable = session.declare_queryable(f"{keys.center_prefix}/**", self._on_query)
        self._token = session.liveliness().declare_token(keys.alive)

    def put(self, kiosk: str, kind: str, payload: dict[str, Any]) -> str:
        key = self.keys.kiosk(kiosk, kind)
        data = json.dumps({"province": self.keys.province, "center": self.keys.center, **payload},
                          ensure_ascii=False)
        with self._lock:
            if kind != "escalation":
                self._latest[key] = data
        self.session.put(key, data)
        self.sent += 1
        return key

    def _on_query(self, query) -> None:
        with self._lock:
            latest = dict(self._latest)
        for key, data in latest.items():
            if self._zenoh.KeyExpr(key).intersects(query.key_expr):
                query.reply(key, data)

    def close(self) -> None:
        for thing in (self._token, self._queryable):
            with contextlib.suppress(Exception):  # the session may already be closed
                thing.undeclare()
        self.session.close()
