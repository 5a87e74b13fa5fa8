"""Failed-login limits per account and per address, over a sliding minute."""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["LoginLimiter"]


class LoginLimiter:
    """After ``per_account`` failures for one username (or ``per_address`` from one address) within
    ``window_s``, further attempts are refused until the oldest failure leaves the window."""

    def __init__(self, per_account: int = 5, per_address: int = 10, window_s: float = 60.0,
                 max_keys: int = 10_000) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._refusals_logged: dict[str, float] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] > self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after_s(self, username: str, address: str) -> float:
        """0 when an attempt is allowed now; otherwise the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            wait = 0.0
            for key, limit in ((f"u:{username}", self.per_account), (f"a:{address}", self.per_address)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, self.window_s - (now - times[-limit]))
            return wait

    def first_refusal(self, username: str, address: str) -> bool:
        """True once per window for a refused account/address pair (so refusals cannot flood the audit log)."""
        now = time.monotonic()
        key = f"{username}|{address}"
        with self._lock:
            if now - self._refusals_logged.get(key, -1e9) < self.window_s:
                return False
            if len(self._refusals_logged) >= self._max_keys:
                self._refusals_logged.clear()
            self._refusals_logged[key] = now
            return True

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self._max_keys:  # bounded memory under a spray of names
                for key in list(self._failures)[: self._max_keys // 10]:
                    del self._failures[key]
            for key in (f"u:{username}", f"a:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{username}", None)
