"""Settings of the staff dashboard (the dashboard node's parameters, or a test's choice)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ROLES", "DashboardSettings", "role_at_least"]

ROLES = ("staff", "technician", "admin")  # each role may do everything the roles before it may


def role_at_least(role: str, needed: str) -> bool:
    """True when ``role`` includes the rights of ``needed`` (unknown roles have none)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class DashboardSettings:
    """Where the dashboard listens, where it keeps its records and for how long, and its limits."""

    host: str = "127.0.0.1"  # loopback by default; the center's staff network address when deployed
    port: int = 8090
    db_path: Path = Path("var/dashboard/dashboard.db")
    max_db_size_mb: float = 0.0  # 0: no cap; otherwise SQLite refuses to grow past it (SQLITE_FULL)
    conversation_retention_days: float = 30.0  # conversation text (turns, escalation text)
    statistics_retention_days: float = 730.0  # hourly aggregates, escalation timings, ratings
    audit_retention_days: float = 365.0
    purge_period_s: float = 3600.0
    session_ttl_s: float = 8 * 3600.0  # a work shift; then staff log in again
    session_idle_s: float = 3600.0
    cookie_secure: bool = False  # set true when the dashboard is served over HTTPS
    login_failures_per_account: int = 5  # per minute; the next attempt gets 429
    login_failures_per_address: int = 10  # per minute
    min_password_chars: int = 10
    max_body_bytes: int = 256 * 1024
    stale_after_s: float = 5.0  # a node not heard for this long is shown as STALE
    utc_offset_hours: int = 7  # Vietnam (UTC+7): hours and days in statistics
    center_name: str = "Trung tâm Phục vụ hành chính công"
    kb_dir: Path = Path("dialogue/kb")  # KB root the running dialogue nodes load (procedures/ inside)
    model_dir: Path = Path("models/dialogue")  # where `python -m dialogue train` writes the model
    center_path: Path = Path("config/center.yaml")
    kb_history_dir: Path = Path("var/dashboard/kb_history")  # previous versions of edited records
    python: str = field(default_factory=lambda: os.environ.get("KIOSK_PYTHON_EXE", "") or _venv_python())
    cli_timeout_s: float = 60.0
    train_timeout_s: float = 900.0
    extra_origins: tuple[str, ...] = ()  # e.g. the https:// name staff type when behind a proxy

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is not a TCP port (1-65535)")
        if min(self.conversation_retention_days, self.statistics_retention_days, self.audit_retention_days) <= 0:
            raise ValueError("retention periods must be > 0 days")
        if self.session_ttl_s <= 0 or self.session_idle_s <= 0:
            raise ValueError("session_ttl_s and session_idle_s must be > 0 seconds")
        if self.login_failures_per_account < 1 or self.login_failures_per_address < 1:
            raise ValueError("login failure limits must be >= 1")


def _venv_python() -> str:
    import sys

    return sys.executable
