"""The dashboard's core, free of ROS: what the dashboard node feeds it, and what staff do with it.

The node calls :meth:`Dashboard.on_diagnostics`, :meth:`Dashboard.on_message` and
:meth:`Dashboard.discovered` from its callbacks, and :meth:`Dashboard.maintenance` from a timer;
it sets :attr:`Dashboard.hooks` so the web app can send an :class:`EscalationUpdate` to a kiosk
and ask the kiosks' dialogue nodes to reload. Live events go to the staff pages through an
:class:`kiosk_ui.hub.EventHub` (kinds ``kiosk_health``, ``turn``, ``visit``, ``escalation_state``,
``storage``, ``training``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kiosk_protocol import (
    Escalation,
    EscalationUpdate,
    ProtocolError,
    Rating,
    Reply,
    SessionEvent,
    Transcript,
    decode,
)
from kiosk_ui.dashboard.accounts import Accounts, Audit
from kiosk_ui.dashboard.db import Database, StorageFull
from kiosk_ui.dashboard.live import KIOSK_NODE_NAMES, LiveState, kiosk_from_diagnostics_name
from kiosk_ui.dashboard.records import Records, is_answered
from kiosk_ui.dashboard.settings import DashboardSettings
from kiosk_ui.hub import EventHub

__all__ = ["SUBSCRIBED_TOPICS", "Dashboard", "Hooks", "kiosks_on_graph"]

_LOG = logging.getLogger("kiosk_ui.dashboard")

# Topics the dashboard node subscribes to in each kiosk's namespace (dialogue/session is latched),
# each with the one kind it carries.
TOPIC_KINDS = {"speech/transcript": Transcript, "dialogue/reply": Reply, "dialogue/escalation": Escalation,
               "dialogue/session": SessionEvent, "ui/rating": Rating}
SUBSCRIBED_TOPICS = tuple(TOPIC_KINDS)
ACK_MESSAGE = "Cán bộ {name} đang đến hỗ trợ bà con, xin bà con chờ một chút ạ."
RESOLVED_MESSAGE = "Cán bộ {name} đã tiếp nhận yêu cầu của bà con. Cảm ơn bà con ạ."
_OPEN_ESCALATIONS_KEPT_S = 12 * 3600  # after a restart, escalations younger than this are shown again


def kiosks_on_graph(names_and_namespaces: Iterable[tuple[str, str]]) -> set[str]:
    """Kiosk namespaces among ``Node.get_node_names_and_namespaces()``: those running a kiosk node."""
    return {ns.strip("/") for name, ns in names_and_namespaces if name in KIOSK_NODE_NAMES and ns.strip("/")}


@dataclass
class Hooks:
    """Set by the dashboard node; the defaults say that no ROS node is attached."""

    publish_update: Callable[[str, EscalationUpdate], None] = field(default=lambda kiosk, update: None)
    reload_dialogue: Callable[[list[str]], dict[str, dict[str, Any]]] = field(
        default=lambda kiosks: {k: {"success": False, "message": "no ROS node attached"} for k in kiosks})


class Dashboard:
    """Storage, accounts, live state and event fan-out, wired together."""

    def __init__(self, settings: DashboardSettings, hub: EventHub | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.db_path, settings.max_db_size_mb)
        self.records = Records(self.db)
        self.accounts = Accounts(self.db, settings.min_password_chars, settings.session_ttl_s,
                                 settings.session_idle_s)
        self.audit = Audit(self.db)
        self.live = LiveState(settings.stale_after_s)
        self.hub = hub or EventHub(history_size=0, client_queue_size=512)
        self.hooks = Hooks()
        self.events_in = 0
        self.malformed = 0
        self._last_purge = 0.0
        self._storage_reported = ""
        for esc in self.records.open_escalations(time.time() - _OPEN_ESCALATIONS_KEPT_S):
            self.live.set_escalation(esc)

    # ---- from the node --------------------------------------------------------------------------
    def discovered(self, kiosks: Iterable[str]) -> list[str]:
        """Register kiosks seen on the ROS graph; returns the new ones."""
        return [k for k in kiosks if self.live.discover(k)]

    def on_diagnostics(self, statuses: Iterable[dict[str, Any]], now: float | None = None) -> set[str]:
        """Statuses as dicts (name, level, message, values); returns the kiosks they came from."""
        now = now or time.time()
        seen = set()
        for status in statuses:
            parsed = kiosk_from_diagnostics_name(str(status.get("name", "")))
            if parsed is None:
                continue
            kiosk, area, node = parsed
            self.live.on_status(kiosk, f"{area}/{node}", int(status.get("level", 3)), str(status.get("message", "")),
                                dict(status.get("values", {})), now)
            seen.add(kiosk)
        return seen

    def on_message(self, kiosk: str, topic: str, data: str) -> str | None:
        """One JSON payload from a kiosk's topic (see TOPIC_KINDS); returns why it was refused, or None."""
        self.events_in += 1
        try:
            message = decode(data, TOPIC_KINDS.get(topic))
        except ProtocolError as exc:
            self.malformed += 1
            _LOG.debug("dropped a malformed message from %s on %s: %s", kiosk, topic, exc)
            return str(exc)
        self.live.discover(kiosk)
        try:
            if isinstance(message, Reply):
                self._on_reply(kiosk, message)
            elif isinstance(message, Escalation):
                self._on_escalation(kiosk, message)
            elif isinstance(message, SessionEvent):
                self._on_session(kiosk, message)
            elif isinstance(message, Rating):
                self.records.add_rating(kiosk, message)
            elif isinstance(message, Transcript) and not message.accepted:
                self._line(kiosk, {"id": message.utterance_id, "role": "citizen", "text": "(không nghe rõ)",
                                   "source": "voice", "unix_s": message.published_unix_s, "session_id": ""})
        except StorageFull:
            self._report_storage()  # the live view still shows it; the write waits in the backlog
        return None

    def _on_reply(self, kiosk: str, reply: Reply) -> None:
        if reply.user_text:
            self._line(kiosk, {"id": f"{reply.reply_id}:q", "role": "citizen", "text": reply.user_text,
                               "source": reply.source, "unix_s": reply.published_unix_s,
                               "session_id": reply.session_id})
        self._line(kiosk, {"id": reply.reply_id, "role": "kiosk", "text": reply.reply_voice, "intent": reply.intent,
                           "procedure_id": reply.procedure_id, "answered": is_answered(reply),
                           "unix_s": reply.published_unix_s, "session_id": reply.session_id})
        self.records.add_turn(kiosk, reply)

    def _line(self, kiosk: str, line: dict[str, Any]) -> None:
        self.live.add_line(kiosk, line)
        self.hub.publish({"kind": "turn", "kiosk": kiosk, "line": line})

    def _on_escalation(self, kiosk: str, esc: Escalation) -> None:
        row = {"escalation_id": esc.escalation_id, "kiosk": kiosk, "session_id": esc.session_id,
               "reason": esc.reason, "source": esc.source, "user_text": esc.user_text,
               "created_unix_s": esc.unix_s, "status": "open", "acknowledged_unix_s": None,
               "acknowledged_by": None, "resolved_unix_s": None, "resolved_by": None}
        if self.live.escalation(esc.escalation_id) is None:
            self.live.set_escalation(row)
            self.hub.publish({"kind": "escalation_state", "escalation": row, "new": True})
        self.records.add_escalation(kiosk, esc)

    def _on_session(self, kiosk: str, event: SessionEvent) -> None:
        self.live.session(kiosk, event.session_id, event.event == "started", event.unix_s)
        self.hub.publish({"kind": "visit", "kiosk": kiosk, "session_id": event.session_id, "event": event.event,
                          "reason": event.reason})
        self.records.add_visit_event(kiosk, event)

    # ---- from staff -----------------------------------------------------------------------------
    def update_escalation(self, escalation_id: str, status: str, staff_name: str, username: str,
                          message_vi: str = "") -> dict[str, Any]:
        """Acknowledge or resolve, tell the kiosk, tell every staff page. ``KeyError`` if unknown."""
        who = f"{staff_name} ({username})" if staff_name and staff_name != username else username
        try:
            row = self.records.update_escalation(escalation_id, status, who)
        except StorageFull:  # tell the kiosk anyway; the stored record follows when space is back
            row = self.live.escalation(escalation_id)
            if row is None:
                raise
            now = time.time()
            row.update(status=status, acknowledged_unix_s=row["acknowledged_unix_s"] or now,
                       acknowledged_by=row["acknowledged_by"] or who,
                       **({"resolved_unix_s": now, "resolved_by": who} if status == "resolved" else {}))
            self._report_storage()
        template = ACK_MESSAGE if status == "acknowledged" else RESOLVED_MESSAGE
        update = EscalationUpdate(escalation_id=escalation_id, session_id=row["session_id"], status=status,
                                  staff_name=staff_name[:100],
                                  message_vi=(message_vi.strip() or template.format(name=staff_name))[:500])
        self.hooks.publish_update(row["kiosk"], update)
        self.live.set_escalation(row)
        self.hub.publish({"kind": "escalation_state", "escalation": row, "new": False})
        return row

    # ---- housekeeping ---------------------------------------------------------------------------
    def maintenance(self, now: float | None = None) -> None:
        """Retry held-back writes, purge past retention (every purge_period_s), report storage."""
        now = now or time.time()
        self.db.retry_backlog()
        if now - self._last_purge >= self.settings.purge_period_s and not self.db.problem:
            s = self.settings
            try:
                report = self.records.purge(s.conversation_retention_days, s.statistics_retention_days,
                                            s.audit_retention_days, s.session_ttl_s, now)
                self._last_purge = now
                if any(vars(report).values()):
                    _LOG.info("retention purge: %s", report)
            except StorageFull:
                pass
        self._report_storage()
        for health in self.live.take_dirty():
            self.hub.publish({"kind": "kiosk_health", "health": health})

    def storage_status(self) -> dict[str, Any]:
        return {"ok": not self.db.problem, "problem": self.db.problem, "since_unix_s": self.db.problem_since_unix_s,
                "waiting_writes": self.db.backlog, "size_bytes": self.db.size_bytes(),
                "schema_version": self.db.version}

    def _report_storage(self) -> None:
        if self.db.problem != self._storage_reported:
            self._storage_reported = self.db.problem
            self.hub.publish({"kind": "storage", "storage": self.storage_status()})

    def close(self) -> None:
        self.db.close()
