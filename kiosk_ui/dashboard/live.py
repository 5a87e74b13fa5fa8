"""The live picture of every kiosk, in memory: node health, the visit in progress, open escalations.

Kiosks are found, never listed by hand: a diagnostics status named ``/<ns>/<area>/<node>``
(every kiosk node publishes one at 1 Hz) or a kiosk node on the ROS graph makes ``<ns>`` a kiosk.
Only the visit in progress is shown; when it ends its lines are forgotten here (the stored
turns follow the retention settings).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "KIOSK_NODE_NAMES",
    "LEVELS",
    "KioskLive",
    "LiveState",
    "NodeHealth",
    "kiosk_from_diagnostics_name",
]

LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}
KIOSK_NODE_NAMES = frozenset({"dialogue", "ui", "asr", "microphone", "tts"})
NOT_KIOSK_AREAS = frozenset({"dashboard"})
HOST_KEYS = ("hostname", "host_cpu_percent", "host_mem_used_percent", "host_mem_available_mb", "host_load_1m")
_MAX_LINES = 40
_MAX_NODES = 32


def kiosk_from_diagnostics_name(name: str) -> tuple[str, str, str] | None:
    """``/kiosk1/speech/asr`` → ``("kiosk1", "speech", "asr")``; None when it is not a kiosk node's."""
    parts = name.strip("/").split("/")
    if len(parts) < 3 or not all(parts):
        return None
    namespace, area, node = "/".join(parts[:-2]), parts[-2], parts[-1]
    if area in NOT_KIOSK_AREAS or len(namespace) > 100:
        return None
    return namespace, area, node


@dataclass
class NodeHealth:
    name: str  # area/node, e.g. speech/asr
    level: int
    message: str
    lifecycle_state: str
    values: dict[str, str]
    last_heard_unix_s: float


@dataclass
class KioskLive:
    kiosk: str
    first_seen_unix_s: float = field(default_factory=time.time)
    nodes: dict[str, NodeHealth] = field(default_factory=dict)
    session_id: str = ""
    session_started_unix_s: float | None = None
    lines: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_MAX_LINES))
    escalations: dict[str, dict[str, Any]] = field(default_factory=dict)
    ended_sessions: deque[str] = field(default_factory=lambda: deque(maxlen=64))

    def health(self, now: float, stale_after_s: float) -> dict[str, Any]:
        nodes = []
        host: dict[str, str] = {}
        newest = 0.0
        for health in sorted(self.nodes.values(), key=lambda h: h.name):
            stale = now - health.last_heard_unix_s > stale_after_s
            level = 3 if stale else health.level
            nodes.append({
                "name": health.name, "level": level, "level_name": LEVELS.get(level, str(level)),
                "message": health.message, "lifecycle_state": health.lifecycle_state,
                "values": {k: v for k, v in health.values.items() if k not in HOST_KEYS},
                "last_heard_unix_s": health.last_heard_unix_s,
            })
            if health.last_heard_unix_s >= newest and any(k in health.values for k in HOST_KEYS):
                host = {k: health.values[k] for k in HOST_KEYS if k in health.values}
            newest = max(newest, health.last_heard_unix_s)
        worst = max((n["level"] for n in nodes), default=3)
        return {
            "kiosk": self.kiosk, "level": worst, "level_name": LEVELS.get(worst, str(worst)), "nodes": nodes,
            "host": host, "last_heard_unix_s": newest or None, "first_seen_unix_s": self.first_seen_unix_s,
        }

    def conversation(self) -> dict[str, Any]:
        return {"kiosk": self.kiosk, "session_id": self.session_id,
                "started_unix_s": self.session_started_unix_s, "lines": list(self.lines)}


class LiveState:
    """Thread-safe: written by ROS callbacks, read by the web server."""

    def __init__(self, stale_after_s: float = 5.0) -> None:
        self.stale_after_s = stale_after_s
        self._kiosks: dict[str, KioskLive] = {}
        self._dirty: set[str] = set()
        self._lock = threading.Lock()

    def _kiosk(self, kiosk: str) -> KioskLive:
        live = self._kiosks.get(kiosk)
        if live is None:
            live = self._kiosks[kiosk] = KioskLive(kiosk)
        return live

    def discover(self, kiosk: str) -> bool:
        """Make sure a kiosk is known; True when it is new."""
        with self._lock:
            new = kiosk not in self._kiosks
            self._kiosk(kiosk)
            if new:
                self._dirty.add(kiosk)
            return new

    @property
    def kiosks(self) -> list[str]:
        with self._lock:
            return sorted(self._kiosks)

    def on_status(self, kiosk: str, name: str, level: int, message: str, values: dict[str, str], now: float) -> None:
        with self._lock:
            live = self._kiosk(kiosk)
            if name not in live.nodes and len(live.nodes) >= _MAX_NODES:
                return
            live.nodes[name] = NodeHealth(name, level, message[:500], values.get("lifecycle_state", ""),
                                          {k[:64]: v[:200] for k, v in list(values.items())[:40]}, now)
            self._dirty.add(kiosk)

    def take_dirty(self) -> list[dict[str, Any]]:
        """Health of the kiosks that changed since the last call (and of those going stale)."""
        now = time.time()
        with self._lock:
            for kiosk, live in self._kiosks.items():
                if any(self.stale_after_s < now - h.last_heard_unix_s < self.stale_after_s + 2
                       for h in live.nodes.values()):
                    self._dirty.add(kiosk)
            dirty, self._dirty = self._dirty, set()
            return [self._kiosks[k].health(now, self.stale_after_s) for k in sorted(dirty) if k in self._kiosks]

    def session(self, kiosk: str, session_id: str, started: bool, unix_s: float) -> None:
        with self._lock:
            live = self._kiosk(kiosk)
            if started:
                if live.session_id != session_id:  # keep the new visit's lines that arrived before its start
                    kept = [line for line in live.lines if line.get("session_id") == session_id]
                    live.lines.clear()
                    live.lines.extend(kept)
                live.session_id, live.session_started_unix_s = session_id, unix_s
            else:
                live.ended_sessions.append(session_id)
                if live.session_id in (session_id, ""):
                    live.session_id, live.session_started_unix_s = "", None
                    live.lines.clear()

    def add_line(self, kiosk: str, line: dict[str, Any]) -> None:
        with self._lock:
            live = self._kiosk(kiosk)
            session_id = line.get("session_id") or ""
            if session_id in live.ended_sessions:
                return  # a late line of a visit that already ended
            if session_id and session_id != live.session_id:
                # topics are not ordered with each other: a new visit's line can come before its start
                live.lines.clear()
                live.session_id, live.session_started_unix_s = session_id, line.get("unix_s")
            if any(old.get("id") == line.get("id") for old in live.lines):
                return
            live.lines.append(line)

    def set_escalation(self, escalation: dict[str, Any]) -> None:
        with self._lock:
            live = self._kiosk(escalation["kiosk"])
            if escalation["status"] == "resolved":
                live.escalations.pop(escalation["escalation_id"], None)
            else:
                live.escalations[escalation["escalation_id"]] = escalation

    def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        with self._lock:
            for live in self._kiosks.values():
                if escalation_id in live.escalations:
                    return dict(live.escalations[escalation_id])
        return None

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            return {
                "kiosks": [
                    {**live.health(now, self.stale_after_s), "conversation": live.conversation(),
                     "escalations": sorted(live.escalations.values(), key=lambda e: e["created_unix_s"])}
                    for _, live in sorted(self._kiosks.items())
                ],
            }
