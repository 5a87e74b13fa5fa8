"""Emergency stop (latched, persisted) and watchdog.

:class:`EmergencyStopLatch` trips on a pressed e-stop input and stays tripped until
:meth:`~EmergencyStopLatch.reset` — which refuses while the input is still pressed. Its state is
written to a small JSON file (atomically) at every change and read back at start-up, so it
survives a restart of the motion node; a file that cannot be read counts as tripped (fail safe).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

__all__ = ["EmergencyStopLatch", "Watchdog"]

log = logging.getLogger(__name__)


class EmergencyStopLatch:
    def __init__(self, state_path: Path | None = None) -> None:
        self.state_path = Path(state_path) if state_path else None
        self.active = False
        self.reason = ""
        self.since_unix_s = 0.0
        self.input_pressed = False
        self.load_note = ""
        if self.state_path is not None:
            self._load()

    def _load(self) -> None:
        path = self.state_path
        if not path.exists():
            return
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            active = bool(state["active"])
            reason, since = str(state.get("reason", "")), float(state.get("since_unix_s", 0.0))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.active, self.since_unix_s = True, time.time()
            self.reason = f"unreadable e-stop state file {path}: {exc}"
            self.load_note = f"e-stop state file {path} is unreadable ({exc}): staying stopped until reset"
            return
        if active:
            self.active, self.reason, self.since_unix_s = True, reason or "latched before restart", since
            self.load_note = f"e-stop latched before this start ({self.reason}); call the reset service"

    def _save(self) -> str:
        """Write the state; return an error text ("" on success)."""
        if self.state_path is None:
            return ""
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"active": self.active, "reason": self.reason,
                                       "since_unix_s": self.since_unix_s}), encoding="utf-8")
            os.replace(tmp, self.state_path)
        except OSError as exc:
            log.error("cannot persist the e-stop state to %s: %s", self.state_path, exc)
            return f"cannot persist the e-stop state to {self.state_path}: {exc}"
        return ""

    def on_input(self, pressed: bool, source: str = "emergency_stop topic") -> bool:
        """The e-stop input changed; return True when this trips the latch."""
        self.input_pressed = bool(pressed)
        if pressed and not self.active:
            self.active, self.reason, self.since_unix_s = True, f"pressed ({source})", time.time()
            self._save()
            return True
        return False

    def trip(self, reason: str) -> None:
        if not self.active:
            self.active, self.reason, self.since_unix_s = True, reason, time.time()
            self._save()

    def reset(self) -> tuple[bool, str]:
        """Clear the latch unless the input is still pressed; (success, message)."""
        if self.input_pressed:
            return False, "emergency stop is still pressed: release it first, then reset"
        if not self.active:
            return True, "emergency stop was not active"
        self.active, self.reason, self.since_unix_s = False, "", 0.0
        error = self._save()
        if error:
            return True, f"emergency stop reset, but {error}"
        return True, "emergency stop reset: motion allowed"


class Watchdog:
    """Stale when not fed for ``timeout_s`` (or never fed)."""

    def __init__(self, timeout_s: float) -> None:
        if not math.isfinite(timeout_s) or timeout_s <= 0:
            raise ValueError(f"watchdog timeout must be > 0 s, got {timeout_s}")
        self.timeout_s = timeout_s
        self.last_s: float | None = None

    def feed(self, now_s: float) -> None:
        self.last_s = now_s

    def age_s(self, now_s: float) -> float:
        return math.inf if self.last_s is None else now_s - self.last_s

    def stale(self, now_s: float) -> bool:
        return self.age_s(now_s) > self.timeout_s
