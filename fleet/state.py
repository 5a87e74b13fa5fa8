"""What a center knows about its kiosks, built from their diagnostics and topics (no ROS)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

OK, WARN, ERROR, STALE = 0, 1, 2, 3
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR", STALE: "STALE"}


def kiosk_of(status_name: str) -> tuple[str, str] | None:
    """'/kiosk1/speech/asr' → ('/kiosk1', 'speech/asr'); None for a name without a namespace."""
    parts = status_name.strip("/").split("/")
    if len(parts) < 3:
        return None
    return "/" + "/".join(parts[:-2]), "/".join(parts[-2:])


@dataclass
class _NodeStatus:
    level: int
    message: str
    lifecycle_state: str
    seen_s: float


@dataclass
class _Kiosk:
    nodes: dict[str, _NodeStatus] = field(default_factory=dict)
    visits: int = 0
    replies: int = 0
    escalations: int = 0
    escalation_reasons: dict[str, int] = field(default_factory=dict)
    ratings: int = 0
    rating_sum: int = 0


class CenterState:
    """Per-kiosk health (worst node level; a node silent for ``stale_after_s`` is STALE) and counts."""

    def __init__(self, stale_after_s: float = 10.0, share_user_text: bool = False) -> None:
        self.stale_after_s = stale_after_s
        self.share_user_text = share_user_text
        self._kiosks: dict[str, _Kiosk] = {}

    def _kiosk(self, namespace: str) -> _Kiosk:
        return self._kiosks.setdefault(namespace, _Kiosk())

    def kiosks(self) -> list[str]:
        return sorted(self._kiosks)

    def on_status(self, name: str, level: int, message: str, values: dict[str, str],
                  now_s: float | None = None) -> str | None:
        """Record one diagnostics status; returns the kiosk namespace, or None if it names none."""
        where = kiosk_of(name)
        if where is None:
            return None
        namespace, node = where
        self._kiosk(namespace).nodes[node] = _NodeStatus(level, message, values.get("lifecycle_state", ""),
                                                         time.time() if now_s is None else now_s)
        return namespace

    def health(self, namespace: str, now_s: float | None = None) -> dict[str, Any]:
        now = time.time() if now_s is None else now_s
        nodes = {}
        for node, status in sorted(self._kiosk(namespace).nodes.items()):
            level = STALE if now - status.seen_s > self.stale_after_s else status.level
            nodes[node] = {"level": LEVEL_NAMES[level], "message": status.message,
                           "lifecycle_state": status.lifecycle_state, "age_s": round(now - status.seen_s, 1)}
        worst = max((lvl for lvl, name in LEVEL_NAMES.items() for n in nodes.values() if n["level"] == name),
                    default=STALE)
        return {"level": LEVEL_NAMES[worst], "nodes": nodes, "unix_s": now}

    def on_escalation(self, namespace: str, escalation: dict[str, Any]) -> dict[str, Any]:
        """Count it and return what the province may see (the citizen's words only if allowed)."""
        kiosk = self._kiosk(namespace)
        kiosk.escalations += 1
        reason = str(escalation.get("reason", ""))
        kiosk.escalation_reasons[reason] = kiosk.escalation_reasons.get(reason, 0) + 1
        shared = {k: escalation.get(k) for k in ("escalation_id", "session_id", "reason", "source")}
        shared["unix_s"] = time.time()
        if self.share_user_text:
            shared["user_text"] = escalation.get("user_text", "")
        return shared

    def on_reply(self, namespace: str) -> None:
        self._kiosk(namespace).replies += 1

    def on_session(self, namespace: str, event: str) -> None:
        if event == "started":
            self._kiosk(namespace).visits += 1

    def on_rating(self, namespace: str, score: int) -> None:
        kiosk = self._kiosk(namespace)
        kiosk.ratings += 1
        kiosk.rating_sum += score

    def stats(self, namespace: str) -> dict[str, Any]:
        k = self._kiosk(namespace)
        return {"visits": k.visits, "replies": k.replies, "escalations": k.escalations,
                "escalation_reasons": dict(k.escalation_reasons), "ratings": k.ratings,
                "rating_mean": round(k.rating_sum / k.ratings, 2) if k.ratings else None, "unix_s": time.time()}
