"""What the dashboard stores about the kiosks' conversations, and its retention.

Each turn, escalation, rating and visit is stored once (its message id is the primary key, so a
message delivered twice is ignored) and counted once in the hourly aggregates
(``stats_hourly``). Conversation text is purged after ``conversation_retention_days``; the
aggregates, escalation timings and ratings (no text) live for ``statistics_retention_days``.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from kiosk_protocol import Escalation, Rating, Reply, SessionEvent
from kiosk_ui.dashboard.db import Database

__all__ = ["UNANSWERED_INTENTS", "PurgeReport", "Records", "hour_of", "is_answered"]

UNANSWERED_INTENTS = frozenset({"out_of_scope", "error"})
_MAX_TEXT = 2000  # stored characters of one question or answer


def hour_of(unix_s: float) -> int:
    return int(unix_s // 3600 * 3600)


def is_answered(reply: Reply) -> bool:
    """False for questions the kiosk could not answer (candidates for new KB examples)."""
    screen_type = str(reply.reply_screen.get("type", "")) if isinstance(reply.reply_screen, dict) else ""
    return reply.intent not in UNANSWERED_INTENTS and screen_type != "not_understood"


def _bump(conn: sqlite3.Connection, kiosk: str, unix_s: float, metric: str, key: str = "", total: float = 0.0) -> None:
    conn.execute(
        "INSERT INTO stats_hourly(kiosk, hour_unix_s, metric, key, count, total) VALUES (?, ?, ?, ?, 1, ?) "
        "ON CONFLICT(kiosk, hour_unix_s, metric, key) DO UPDATE SET count = count + 1, total = total + excluded.total",
        (kiosk, hour_of(unix_s), metric, key, total),
    )


@dataclass(frozen=True)
class PurgeReport:
    turns: int
    escalation_texts: int
    visits: int
    aggregates: int
    escalations: int
    ratings: int
    audit: int
    web_sessions: int


class Records:
    """Idempotent writes of kiosk events, and the retention purge."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_turn(self, kiosk: str, reply: Reply) -> bool:
        """Store one answered (or unanswered) question; False when it was stored before."""
        if reply.source == "system" and not reply.user_text:
            return False  # a greeting the kiosk said by itself: not a question
        answered = is_answered(reply)
        row = (
            reply.reply_id, kiosk, reply.session_id, reply.published_unix_s, reply.source,
            reply.user_text[:_MAX_TEXT], reply.reply_voice[:_MAX_TEXT], reply.intent, reply.confidence,
            reply.procedure_id, int(answered), int(reply.escalate),
        )  # fmt: skip

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO turns(message_id, kiosk, session_id, unix_s, source, user_text, reply_text, "
                "intent, confidence, procedure_id, answered, escalated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            if cur.rowcount != 1:
                return False
            _bump(conn, kiosk, reply.published_unix_s, "question", reply.source)
            if reply.procedure_id:
                _bump(conn, kiosk, reply.published_unix_s, "procedure", reply.procedure_id)
            if not answered:
                _bump(conn, kiosk, reply.published_unix_s, "unanswered")
            return True

        return bool(self.db.write(work))

    def add_escalation(self, kiosk: str, esc: Escalation) -> bool:
        row = (esc.escalation_id, kiosk, esc.session_id, esc.reason, esc.source, esc.user_text[:_MAX_TEXT], esc.unix_s)

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO escalations(escalation_id, kiosk, session_id, reason, source, user_text, "
                "created_unix_s) VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            if cur.rowcount != 1:
                return False
            _bump(conn, kiosk, esc.unix_s, "escalation", esc.reason)
            return True

        return bool(self.db.write(work))

    def update_escalation(self, escalation_id: str, status: str, username: str, unix_s: float | None = None) -> dict:
        """Acknowledge or resolve; returns the stored escalation. ``KeyError`` if unknown."""
        now = unix_s or time.time()

        def work(conn: sqlite3.Connection) -> dict:
            row = conn.execute("SELECT * FROM escalations WHERE escalation_id = ?", (escalation_id,)).fetchone()
            if row is None:
                raise KeyError(escalation_id)
            if status == "acknowledged" and row["acknowledged_unix_s"] is None:
                conn.execute(
                    "UPDATE escalations SET status = 'acknowledged', acknowledged_unix_s = ?, acknowledged_by = ? "
                    "WHERE escalation_id = ? AND status = 'open'",
                    (now, username, escalation_id),
                )
                _bump(conn, row["kiosk"], row["created_unix_s"], "ack", "", max(0.0, now - row["created_unix_s"]))
            elif status == "resolved" and row["resolved_unix_s"] is None:
                ack = row["acknowledged_unix_s"]
                conn.execute(
                    "UPDATE escalations SET status = 'resolved', resolved_unix_s = ?, resolved_by = ?, "
                    "acknowledged_unix_s = COALESCE(acknowledged_unix_s, ?), "
                    "acknowledged_by = COALESCE(acknowledged_by, ?) WHERE escalation_id = ?",
                    (now, username, now, username, escalation_id),
                )
                if ack is None:
                    _bump(conn, row["kiosk"], row["created_unix_s"], "ack", "", max(0.0, now - row["created_unix_s"]))
            out = conn.execute("SELECT * FROM escalations WHERE escalation_id = ?", (escalation_id,)).fetchone()
            return dict(out)

        return self.db.write(work)

    def add_rating(self, kiosk: str, rating: Rating) -> bool:
        row = (rating.rating_id, kiosk, rating.session_id, rating.score, rating.procedure_id, rating.trigger,
               rating.unix_s)

        def work(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO ratings(rating_id, kiosk, session_id, score, procedure_id, trigger, unix_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            if cur.rowcount != 1:
                return False
            _bump(conn, kiosk, rating.unix_s, "rating", str(rating.score), float(rating.score))
            return True

        return bool(self.db.write(work))

    def add_visit_event(self, kiosk: str, event: SessionEvent) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            if event.event == "started":
                cur = conn.execute(
                    "INSERT OR IGNORE INTO visits(kiosk, session_id, started_unix_s) VALUES (?, ?, ?)",
                    (kiosk, event.session_id, event.unix_s),
                )
                if cur.rowcount == 1:
                    _bump(conn, kiosk, event.unix_s, "visit")
                return cur.rowcount == 1
            cur = conn.execute(
                "INSERT INTO visits(kiosk, session_id, ended_unix_s, end_reason) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(kiosk, session_id) DO UPDATE SET ended_unix_s = excluded.ended_unix_s, "
                "end_reason = excluded.end_reason WHERE visits.ended_unix_s IS NULL",
                (kiosk, event.session_id, event.unix_s, event.reason),
            )
            return cur.rowcount == 1

        return bool(self.db.write(work))

    def open_escalations(self, since_unix_s: float) -> list[dict]:
        rows = self.db.query(
            "SELECT * FROM escalations WHERE status != 'resolved' AND created_unix_s >= ? ORDER BY created_unix_s",
            (since_unix_s,),
        )
        return [dict(r) for r in rows]

    def purge(self, conversation_days: float, statistics_days: float, audit_days: float,
              session_ttl_s: float, now: float | None = None) -> PurgeReport:
        """Delete what is past its retention period (see the module docstring)."""
        now = now or time.time()
        text_cut = now - conversation_days * 86400
        stats_cut = now - statistics_days * 86400
        audit_cut = now - audit_days * 86400

        def work(conn: sqlite3.Connection) -> PurgeReport:
            def run(sql: str, *params: object) -> int:
                return conn.execute(sql, params).rowcount

            return PurgeReport(
                turns=run("DELETE FROM turns WHERE unix_s < ?", text_cut),
                escalation_texts=run("UPDATE escalations SET user_text = '' WHERE created_unix_s < ? "
                                     "AND user_text != ''", text_cut),
                visits=run("DELETE FROM visits WHERE COALESCE(started_unix_s, ended_unix_s) < ?", text_cut),
                aggregates=run("DELETE FROM stats_hourly WHERE hour_unix_s < ?", stats_cut),
                escalations=run("DELETE FROM escalations WHERE created_unix_s < ?", stats_cut),
                ratings=run("DELETE FROM ratings WHERE unix_s < ?", stats_cut),
                audit=run("DELETE FROM audit_log WHERE unix_s < ?", audit_cut),
                web_sessions=run("DELETE FROM web_sessions WHERE created_unix_s < ?", now - session_ttl_s),
            )

        return self.db.write(work, keep_on_full=False)
