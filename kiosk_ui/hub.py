"""EventHub: thread-safe fan-out of kiosk events to every connected page.

Any thread (ROS callbacks, tests) calls :meth:`EventHub.publish`; the event is serialized once
to JSON there and handed to the server's event loop with ``loop.call_soon_threadsafe``. On the
loop it is appended to a bounded history (so a page that connects later sees the current
conversation) and put on each client's bounded queue. A client whose queue is full is cut off
(it reconnects and replays the history) instead of growing memory.

Visits: :meth:`EventHub.on_session` takes the dialogue's ``SessionEvent``. When a visit ends
the history is forgotten and every page is told to clear; while a visit is open, replies of
any other (closed) session are shown to nobody and never remembered, so a page that connects
later never replays another citizen's conversation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from kiosk_protocol import ProtocolError, SessionEvent, decode, encode

__all__ = ["EventHub", "Subscription"]

_LOG = logging.getLogger("kiosk_ui.hub")

_PROTOCOL_KINDS = {"utterance", "transcript", "user_input", "reply", "escalation", "spoken",
                   "escalation_update", "session", "rating"}
# Kinds a page must never replay as conversation (they describe the link or the visit, not the talk).
_NOT_IN_HISTORY = {"state", "clear", "session", "catalog", "rating"}


@dataclass(eq=False)
class Subscription:
    """One connected page: a bounded queue of JSON strings; ``None`` means "close now"."""

    queue: asyncio.Queue[str | None]
    overflowed: bool = False
    replay: list[str] = field(default_factory=list)


class EventHub:
    """Fan-out of kiosk events (JSON strings) to WebSocket clients, safe to call from any thread."""

    def __init__(self, history_size: int = 50, client_queue_size: int = 256) -> None:
        if history_size < 0 or client_queue_size < 1:
            raise ValueError("history_size must be >= 0 and client_queue_size >= 1")
        self._lock = threading.Lock()
        self._history: deque[str] = deque(maxlen=history_size)
        self._states: dict[str, bool] = {}
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client_queue_size = client_queue_size
        self._session: SessionEvent | None = None  # the latest visit event
        self._ended: deque[str] = deque(maxlen=64)  # ids of the visits that closed lately
        self.dropped_clients = 0

    # ---- called from any thread -------------------------------------------------------------
    def publish(self, message: BaseModel | dict[str, Any] | str) -> None:
        """Send one event to every page: a kiosk_protocol message, a ``{"kind": ...}`` dict or JSON.

        Raises ``ValueError`` for a payload without a ``kind`` or an invalid kiosk_protocol JSON.
        """
        data = self._serialize(message)
        kind = json.loads(data)["kind"]
        if kind == "utterance":  # raw audio: large and nothing to show
            _LOG.debug("not sending an utterance to the page")
            return
        self._submit(data, kind)

    def publish_state(self, name: str, value: bool) -> None:
        """Send a boolean state, e.g. ``("visitor_speaking", True)``; the latest value is replayed."""
        with self._lock:
            self._states[name] = bool(value)
        self._submit(json.dumps({"kind": "state", "name": name, "value": bool(value)}), "state")

    def clear(self) -> None:
        """Forget the conversation (e.g. a new visitor) and tell every page to clear its screen."""
        self._submit(json.dumps({"kind": "clear"}), "clear")

    def on_session(self, event: SessionEvent) -> None:
        """A visit opened or closed: a closed one is forgotten and cleared from every page."""
        with self._lock:
            self._session = event
            if event.event == "ended":
                self._ended.append(event.session_id)
        if event.event == "ended":
            self.clear()
        self._submit(encode(event), "session")

    @property
    def session(self) -> SessionEvent | None:
        """The latest visit event (``started`` while a visit is open)."""
        with self._lock:
            return self._session

    def recent(self) -> list[str]:
        """A copy of the remembered events (JSON strings), oldest first."""
        with self._lock:
            return list(self._history)

    @property
    def client_count(self) -> int:
        with self._lock:
            return len(self._subs)

    # ---- called on the server's event loop ------------------------------------------------------
    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the server's event loop (the app's lifespan does this at startup)."""
        with self._lock:
            self._loop = loop

    def detach_loop(self) -> None:
        """Unbind at shutdown and ask every connected client to close."""
        with self._lock:
            self._loop = None
            subs = list(self._subs)
            self._subs.clear()
        for sub in subs:
            self._close(sub)

    def subscribe(self) -> Subscription:
        """Register a client; its ``replay`` holds the visit, the recent events and the states. Loop only."""
        sub = Subscription(queue=asyncio.Queue(maxsize=self._client_queue_size))
        with self._lock:
            states = [json.dumps({"kind": "state", "name": k, "value": v}) for k, v in self._states.items()]
            session = [encode(self._session)] if self._session is not None else []
            sub.replay = [*session, *self._history, *states]
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    # ---- internals ------------------------------------------------------------------------------
    @staticmethod
    def _serialize(message: BaseModel | dict[str, Any] | str) -> str:
        if isinstance(message, BaseModel):
            return encode(message)
        if isinstance(message, str):
            try:
                obj = json.loads(message)
            except json.JSONDecodeError as exc:
                raise ValueError(f"hub.publish got a string that is not JSON: {exc}") from exc
            if not isinstance(obj, dict) or not isinstance(obj.get("kind"), str):
                raise ValueError("hub.publish needs a JSON object with a string 'kind'")
            if obj["kind"] in _PROTOCOL_KINDS:
                try:
                    return encode(decode(message))
                except ProtocolError as exc:
                    raise ValueError(str(exc)) from exc
            return message
        if isinstance(message, dict):
            if not isinstance(message.get("kind"), str):
                raise ValueError("hub.publish needs a dict with a string 'kind', e.g. {'kind': 'status'}")
            data = json.dumps(message, ensure_ascii=False, default=str)
            return EventHub._serialize(data) if message["kind"] in _PROTOCOL_KINDS else data
        raise TypeError(f"hub.publish cannot send a {type(message).__name__}")

    def _submit(self, data: str, kind: str) -> None:
        with self._lock:
            loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._deliver, data, kind)
                return
            except RuntimeError:  # the loop closed between the check and the call
                _LOG.debug("event loop closed; keeping the event in history only")
        if not self._stale(data, kind):
            self._remember(data, kind)

    def _remember(self, data: str, kind: str) -> None:
        with self._lock:
            if kind == "clear":
                self._history.clear()
            elif kind not in _NOT_IN_HISTORY:
                self._history.append(data)

    def _stale(self, data: str, kind: str) -> bool:
        """A reply or escalation of a visit that already closed: show it to nobody, remember nothing.

        Judged by the closed sessions' ids, not by the open one: a new visit's first reply may
        arrive before its ``started`` event (they travel on different topics).
        """
        if kind not in ("reply", "escalation", "escalation_update"):
            return False
        session_id = json.loads(data).get("session_id") or ""
        with self._lock:
            return bool(session_id) and session_id in self._ended

    def _deliver(self, data: str, kind: str) -> None:
        """Runs on the loop: remember, then put on each client's queue (history and fan-out agree)."""
        if self._stale(data, kind):
            _LOG.info("not showing a %s of a closed visit", kind)
            return
        self._remember(data, kind)
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.queue.put_nowait(data)
            except asyncio.QueueFull:
                _LOG.warning("a page is too slow to receive events; disconnecting it so it can resync")
                self.unsubscribe(sub)
                self.dropped_clients += 1
                self._close(sub)

    @staticmethod
    def _close(sub: Subscription) -> None:
        sub.overflowed = True
        while not sub.queue.empty():  # free the memory, then wake the sender with the sentinel
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)
