"""SQLite storage of the dashboard: WAL mode, a schema version with migrations, full-disk handling.

One connection, guarded by a lock, is shared by the ROS callbacks and the web server's threads
(a few writes per second at most). SQL is only ever run with parameters. A write that fails
because the disk (or the configured size cap, ``PRAGMA max_page_count``) is full is kept in a
bounded backlog and retried by :meth:`Database.retry_backlog`; meanwhile :attr:`Database.problem`
says what is wrong, so the dashboard can show it while the kiosks keep answering.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Database", "StorageFull"]

_LOG = logging.getLogger("kiosk_ui.dashboard.db")

MIGRATIONS: tuple[str, ...] = (
    # v1: the records staff need, and only those (text only: never audio)
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('staff', 'technician', 'admin')),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_unix_s REAL NOT NULL,
        last_login_unix_s REAL
    );
    CREATE TABLE web_sessions (
        token_sha256 TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_unix_s REAL NOT NULL,
        last_seen_unix_s REAL NOT NULL,
        address TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        unix_s REAL NOT NULL,
        username TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_log_time ON audit_log(unix_s);
    CREATE TABLE turns (
        message_id TEXT PRIMARY KEY,
        kiosk TEXT NOT NULL,
        session_id TEXT NOT NULL DEFAULT '',
        unix_s REAL NOT NULL,
        source TEXT NOT NULL,
        user_text TEXT NOT NULL DEFAULT '',
        reply_text TEXT NOT NULL DEFAULT '',
        intent TEXT NOT NULL,
        confidence REAL NOT NULL DEFAULT 0,
        procedure_id TEXT,
        answered INTEGER NOT NULL,
        escalated INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX turns_time ON turns(unix_s);
    CREATE INDEX turns_kiosk_time ON turns(kiosk, unix_s);
    CREATE TABLE escalations (
        escalation_id TEXT PRIMARY KEY,
        kiosk TEXT NOT NULL,
        session_id TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        user_text TEXT NOT NULL DEFAULT '',
        created_unix_s REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
        acknowledged_unix_s REAL,
        acknowledged_by TEXT,
        resolved_unix_s REAL,
        resolved_by TEXT
    );
    CREATE INDEX escalations_time ON escalations(created_unix_s);
    CREATE TABLE ratings (
        rating_id TEXT PRIMARY KEY,
        kiosk TEXT NOT NULL,
        session_id TEXT NOT NULL DEFAULT '',
        score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        procedure_id TEXT,
        trigger TEXT NOT NULL DEFAULT '',
        unix_s REAL NOT NULL
    );
    CREATE INDEX ratings_time ON ratings(unix_s);
    CREATE TABLE visits (
        kiosk TEXT NOT NULL,
        session_id TEXT NOT NULL,
        started_unix_s REAL,
        ended_unix_s REAL,
        end_reason TEXT,
        PRIMARY KEY (kiosk, session_id)
    );
    CREATE TABLE stats_hourly (
        kiosk TEXT NOT NULL,
        hour_unix_s INTEGER NOT NULL,
        metric TEXT NOT NULL,
        key TEXT NOT NULL DEFAULT '',
        count INTEGER NOT NULL DEFAULT 0,
        total REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (kiosk, hour_unix_s, metric, key)
    );
    """,
    # v2: remember which unanswered questions staff already added to the KB as examples
    """
    CREATE TABLE kb_examples_added (
        message_id TEXT PRIMARY KEY,
        procedure_id TEXT NOT NULL,
        username TEXT NOT NULL,
        unix_s REAL NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_FULL_CODES = {13}  # SQLITE_FULL
_BACKLOG_MAX = 20_000


class StorageFull(RuntimeError):
    """The disk or the configured size cap is full; the write waits in the backlog."""


def _is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and (code & 0xFF) in _FULL_CODES) or "full" in str(exc).lower()


class Database:
    """The dashboard's SQLite file. Thread safe; every write goes through :meth:`write`."""

    def __init__(self, path: Path | str, max_size_mb: float = 0.0, *, target_version: int = SCHEMA_VERSION) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._backlog: deque[Callable[[sqlite3.Connection], Any]] = deque(maxlen=_BACKLOG_MAX)
        self.problem = ""  # empty when storage works; otherwise what is wrong, for staff
        self.problem_since_unix_s: float | None = None
        self.dropped_writes = 0
        self._migrate(target_version)
        self.set_size_cap(max_size_mb)

    # ---- schema ---------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, target: int) -> None:
        with self._lock:
            current = self.version
            if current > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {current}, newer than this dashboard ({SCHEMA_VERSION}). "
                    "Fix: update the dashboard, or point db_path at another file."
                )
            for version in range(current + 1, target + 1):
                _LOG.info("migrating %s to schema version %d", self.path, version)
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[version - 1].split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version = {int(version)}")
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    def set_size_cap(self, max_size_mb: float) -> None:
        """Cap the file's size (0: no cap). Past it, writes fail exactly as on a full disk."""
        with self._lock:
            page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
            pages = int(max_size_mb * 1024 * 1024 / page_size) if max_size_mb > 0 else 1073741823
            used = int(self._conn.execute("PRAGMA page_count").fetchone()[0])
            self._conn.execute(f"PRAGMA max_page_count = {max(pages, used)}")

    # ---- reads ----------------------------------------------------------------------------------
    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def query_one(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    # ---- writes ---------------------------------------------------------------------------------
    def write(self, work: Callable[[sqlite3.Connection], Any], *, keep_on_full: bool = True) -> Any:
        """Run ``work(conn)`` in one transaction and return its result.

        On a full disk: keep ``work`` in the backlog (when ``keep_on_full``; it must be idempotent)
        and raise :class:`StorageFull`. Other SQLite errors propagate.
        """
        with self._lock:
            try:
                result = self._transaction(work)
            except sqlite3.Error as exc:
                if not _is_full(exc):
                    raise
                self._on_full(exc)
                if keep_on_full:
                    if len(self._backlog) == self._backlog.maxlen:
                        self.dropped_writes += 1
                    self._backlog.append(work)
                raise StorageFull(self.problem) from exc
            if self.problem and not self._backlog:
                self._recovered()
            return result

    def _transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(self._conn)
            self._conn.execute("COMMIT")
            return result
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def retry_backlog(self) -> int:
        """Write what a full disk held back, oldest first; return how many are still waiting."""
        with self._lock:
            while self._backlog:
                work = self._backlog[0]
                try:
                    self._transaction(work)
                except Exception as exc:
                    if not (isinstance(exc, sqlite3.Error) and _is_full(exc)):
                        _LOG.error("dropping a held-back write that fails: %r", exc)
                        self._backlog.popleft()
                        continue
                    self._on_full(exc)
                    return len(self._backlog)
                self._backlog.popleft()
            if self.problem:
                self._recovered()
            return 0

    @property
    def backlog(self) -> int:
        with self._lock:
            return len(self._backlog)

    def _on_full(self, exc: sqlite3.Error) -> None:
        if not self.problem:
            self.problem_since_unix_s = time.time()
            _LOG.error("dashboard storage is full (%s): holding writes in memory", exc)
        self.problem = (
            f"Bộ nhớ lưu trữ đã đầy ({self.path}); bản ghi mới đang chờ trong bộ nhớ tạm. "
            "Kiosk vẫn trả lời bình thường. / Storage is full (SQLite: "
            f"{exc}); new records wait in memory. Fix: free disk space or raise dashboard.storage.max_size_mb."
        )

    def _recovered(self) -> None:
        _LOG.warning("dashboard storage works again; held-back writes are stored")
        self.problem = ""
        self.problem_since_unix_s = None

    # ---- housekeeping -----------------------------------------------------------------------------
    def size_bytes(self) -> int:
        """The database file plus its WAL."""
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def checkpoint(self) -> None:
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
