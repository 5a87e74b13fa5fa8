"""Staff accounts (Argon2 password hashes), login sessions and the audit log.

A session token is 256 random bits; only its SHA-256 is stored, so a copy of the database
gives no usable cookie. Each session has its own CSRF token, sent back by the page in the
``X-CSRF-Token`` header of every state-changing request.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kiosk_protocol.text import nfc
from kiosk_ui.dashboard.db import Database, StorageFull
from kiosk_ui.dashboard.settings import ROLES

__all__ = ["Account", "AccountError", "Accounts", "Audit", "WebSession", "check_username"]

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))  # verified for unknown users: same timing


class AccountError(ValueError):
    """A bad account request; the message says why (Vietnamese / English)."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    created_unix_s: float
    last_login_unix_s: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Account:
        return cls(row["id"], row["username"], row["display_name"], row["role"], bool(row["disabled"]),
                   row["created_unix_s"], row["last_login_unix_s"])


@dataclass(frozen=True)
class WebSession:
    token_sha256: str
    account: Account
    csrf_token: str
    created_unix_s: float
    last_seen_unix_s: float


def check_username(username: str) -> str:
    name = nfc(username).strip().lower()
    if not (2 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        raise AccountError("Tên đăng nhập 2–64 ký tự: chữ, số, '.', '_' hoặc '-'. / "
                           "username: 2-64 letters, digits, '.', '_' or '-'.")
    return name


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Create, verify, disable accounts; create, find and end login sessions."""

    def __init__(self, db: Database, min_password_chars: int = 10, session_ttl_s: float = 28800.0,
                 session_idle_s: float = 3600.0) -> None:
        self.db = db
        self.min_password_chars = min_password_chars
        self.session_ttl_s = session_ttl_s
        self.session_idle_s = session_idle_s
        self._lock = threading.Lock()
        self._sessions: dict[str, WebSession] = {}  # cache (and fallback while storage is full)

    # ---- accounts -------------------------------------------------------------------------------
    def check_password(self, password: str, username: str) -> None:
        if len(password) < self.min_password_chars:
            raise AccountError(f"Mật khẩu cần ít nhất {self.min_password_chars} ký tự. / "
                               f"password needs at least {self.min_password_chars} characters.")
        if password.strip().lower() == username.lower():
            raise AccountError("Mật khẩu không được trùng tên đăng nhập. / password must differ from the username.")

    def create(self, username: str, display_name: str, role: str, password: str) -> Account:
        name = check_username(username)
        if role not in ROLES:
            raise AccountError(f"Vai trò phải là một trong {', '.join(ROLES)}. / role must be one of {ROLES}.")
        self.check_password(password, name)
        display = nfc(display_name).strip()[:100] or name
        hashed = _HASHER.hash(password)

        def work(conn: sqlite3.Connection) -> int:
            try:
                cur = conn.execute(
                    "INSERT INTO accounts(username, display_name, role, password_hash, created_unix_s) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, display, role, hashed, time.time()),
                )
            except sqlite3.IntegrityError as exc:
                raise AccountError(f"Tài khoản '{name}' đã có. / account '{name}' exists.") from exc
            return int(cur.lastrowid)

        self.db.write(work, keep_on_full=False)
        return self.get(name)

    def get(self, username: str) -> Account:
        row = self.db.query_one("SELECT * FROM accounts WHERE username = ?", (nfc(username).strip().lower(),))
        if row is None:
            raise KeyError(username)
        return Account.from_row(row)

    def list(self) -> list[Account]:
        return [Account.from_row(r) for r in self.db.query("SELECT * FROM accounts ORDER BY username")]

    def count(self) -> int:
        return int(self.db.query_one("SELECT COUNT(*) FROM accounts")[0])

    def verify(self, username: str, password: str) -> Account | None:
        """The account when the password is right and the account enabled; else None."""
        row = self.db.query_one("SELECT * FROM accounts WHERE username = ?", (nfc(username).strip().lower(),))
        try:
            _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        if _HASHER.check_needs_rehash(row["password_hash"]):
            new_hash = _HASHER.hash(password)
            self._quiet_write(lambda c: c.execute("UPDATE accounts SET password_hash = ? WHERE id = ?",
                                                  (new_hash, row["id"])))
        return Account.from_row(row)

    def set_disabled(self, username: str, disabled: bool) -> Account:
        account = self.get(username)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE accounts SET disabled = ? WHERE id = ?", (int(disabled), account.id))
            if disabled:
                conn.execute("DELETE FROM web_sessions WHERE account_id = ?", (account.id,))

        self.db.write(work, keep_on_full=False)
        if disabled:
            with self._lock:
                for key in [k for k, s in self._sessions.items() if s.account.id == account.id]:
                    del self._sessions[key]
        return self.get(username)

    # ---- sessions -------------------------------------------------------------------------------
    def start_session(self, account: Account, address: str) -> tuple[str, WebSession]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        session = WebSession(_token_hash(token), account, secrets.token_urlsafe(32), now, now)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO web_sessions(token_sha256, account_id, csrf_token, created_unix_s, last_seen_unix_s, "
                "address) VALUES (?, ?, ?, ?, ?, ?)",
                (session.token_sha256, account.id, session.csrf_token, now, now, address),
            )
            conn.execute("UPDATE accounts SET last_login_unix_s = ? WHERE id = ?", (now, account.id))

        with self._lock:
            self._sessions[session.token_sha256] = session
        self._quiet_write(work)
        return token, session

    def find_session(self, token: str | None) -> WebSession | None:
        """The live session of a cookie value, or None (unknown, expired, idle too long, disabled)."""
        if not token or len(token) > 200:
            return None
        key = _token_hash(token)
        now = time.time()
        with self._lock:
            session = self._sessions.get(key)
        if session is None:
            row = self.db.query_one(
                "SELECT s.*, a.id AS aid, a.username, a.display_name, a.role, a.disabled, "
                "a.created_unix_s AS acreated, a.last_login_unix_s FROM web_sessions s "
                "JOIN accounts a ON a.id = s.account_id WHERE s.token_sha256 = ?",
                (key,),
            )
            if row is None or row["disabled"]:
                return None
            account = Account(row["aid"], row["username"], row["display_name"], row["role"], False,
                              row["acreated"], row["last_login_unix_s"])
            session = WebSession(key, account, row["csrf_token"], row["created_unix_s"], row["last_seen_unix_s"])
        if now - session.created_unix_s > self.session_ttl_s or now - session.last_seen_unix_s > self.session_idle_s:
            self.end_session(token)
            return None
        if now - session.last_seen_unix_s > 30:
            session = WebSession(key, session.account, session.csrf_token, session.created_unix_s, now)
            self._quiet_write(lambda c: c.execute(
                "UPDATE web_sessions SET last_seen_unix_s = ? WHERE token_sha256 = ?", (now, key)))
        with self._lock:
            self._sessions[key] = session
        return session

    def end_session(self, token: str) -> None:
        key = _token_hash(token)
        with self._lock:
            self._sessions.pop(key, None)
        self._quiet_write(lambda c: c.execute("DELETE FROM web_sessions WHERE token_sha256 = ?", (key,)))

    def _quiet_write(self, work) -> None:
        with contextlib.suppress(StorageFull):  # kept in the backlog; the cached session works meanwhile
            self.db.write(work)


class Audit:
    """Who did what, when: every staff action that changes something, and every login."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def log(self, username: str, action: str, target: str = "", detail: str = "", address: str = "") -> None:
        row = (time.time(), username, action, target[:200], detail[:1000], address[:100])
        with contextlib.suppress(StorageFull):  # held in the backlog and written when space is back
            self.db.write(lambda c: c.execute(
                "INSERT INTO audit_log(unix_s, username, action, target, detail, address) VALUES (?, ?, ?, ?, ?, ?)",
                row))

    def recent(self, limit: int = 200) -> list[dict]:
        rows = self.db.query("SELECT * FROM audit_log ORDER BY unix_s DESC, id DESC LIMIT ?", (int(limit),))
        return [dict(r) for r in rows]
