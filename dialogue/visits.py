"""The kiosk's current visit: who is being served now, and when that visit opens and closes.

One screen serves one visitor at a time. A visit opens when the camera reports an engaged
visitor, or (without a camera) on the first question; it closes when that visitor leaves, when
the page restarts, on "goodbye", or after ``idle_timeout_s`` without input. Each open/close is a
:class:`kiosk_protocol.SessionEvent` for the page and the dashboard, so neither ever shows one
visitor's conversation to the next.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from kiosk_protocol import SessionEvent, new_id

__all__ = ["VisitTracker"]


@dataclass
class _Visit:
    session_id: str
    person_id: str
    last_input_s: float


class VisitTracker:
    """Thread-safe state of the current visit; every method returns the events to publish."""

    def __init__(self, idle_timeout_s: float = 120.0, clock=time.monotonic) -> None:
        if idle_timeout_s <= 0:
            raise ValueError("idle_timeout_s must be > 0 seconds")
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._visit: _Visit | None = None

    @property
    def session_id(self) -> str | None:
        with self._lock:
            return self._visit.session_id if self._visit else None

    @property
    def person_id(self) -> str | None:
        with self._lock:
            return self._visit.person_id if self._visit else None

    def on_input(self) -> tuple[str, list[SessionEvent]]:
        """A question or a touch: the session it belongs to, opening a visit if none is open."""
        with self._lock:
            events: list[SessionEvent] = []
            if self._visit is None:
                events.append(self._open("", "first_input"))
            self._visit.last_input_s = self._clock()
            return self._visit.session_id, events

    def on_engaged(self, person_id: str) -> list[SessionEvent]:
        """A visitor became engaged: a new visit, unless this person's visit is already open."""
        with self._lock:
            if self._visit is not None and self._visit.person_id in (person_id, ""):
                self._visit.person_id = person_id  # a camera confirms the visitor who already spoke
                self._visit.last_input_s = self._clock()
                return []
            events = [self._close("visitor_left")] if self._visit is not None else []
            events.append(self._open(person_id, "visitor_engaged"))
            return events

    def on_left(self, person_id: str) -> list[SessionEvent]:
        """The attended visitor left: close their visit (another person's leaving changes nothing)."""
        with self._lock:
            if self._visit is None or self._visit.person_id != person_id:
                return []
            return [self._close("visitor_left")]

    def end(self, reason: str) -> list[SessionEvent]:
        """Close the visit now (page restart, goodbye, shutdown)."""
        with self._lock:
            return [self._close(reason)] if self._visit is not None else []

    def tick(self) -> list[SessionEvent]:
        """Close the visit when it has been idle too long; call periodically."""
        with self._lock:
            if self._visit is not None and self._clock() - self._visit.last_input_s > self.idle_timeout_s:
                return [self._close("idle_timeout")]
            return []

    def _open(self, person_id: str, reason: str) -> SessionEvent:
        self._visit = _Visit(session_id=new_id(), person_id=person_id, last_input_s=self._clock())
        return SessionEvent(session_id=self._visit.session_id, event="started", reason=reason)

    def _close(self, reason: str) -> SessionEvent:
        assert self._visit is not None
        event = SessionEvent(session_id=self._visit.session_id, event="ended", reason=reason)
        self._visit = None
        return event
