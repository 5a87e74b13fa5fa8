"""Speculative recognition: recognize during the trailing pause, keep the result if the pause was the end.

The microphone sends a speculative utterance after a short pause (``vad.preview_silence_ms``)
and, when the endpoint comes without new speech, the final utterance naming it
(``Utterance.confirms``). :class:`SpeculationBook` keeps track of which speculative
recognitions are still wanted, which are done, and which final utterance waits for one.
Thread safe: the subscription thread claims, the recognition thread fills in.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["SpeculationBook"]


class SpeculationBook:
    """Speculative recognitions by utterance id: wanted → done, and the final waiting for each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: str = ""  # the one speculative utterance still worth recognizing
        self._results: dict[str, Any] = {}
        self._waiting: dict[str, Any] = {}  # speculative id -> the final utterance confirming it
        self.hits = 0  # finals answered with a speculative result
        self.wasted = 0  # speculative recognitions whose pause was not the end

    def start(self, speculative_id: str) -> None:
        """A new speculative utterance: it supersedes any earlier one."""
        with self._lock:
            self._drop_locked()
            self._wanted = speculative_id

    def wanted(self, speculative_id: str) -> bool:
        """Still worth recognizing (not superseded by new speech or another utterance)?"""
        with self._lock:
            return speculative_id == self._wanted

    def done(self, speculative_id: str, result: Any) -> Any | None:
        """Store a finished speculative result; return the final utterance waiting for it, if any."""
        with self._lock:
            if speculative_id != self._wanted:
                self.wasted += 1
                return None
            final = self._waiting.pop(speculative_id, None)
            if final is not None:
                self.hits += 1
                self._wanted = ""
                return final
            self._results[speculative_id] = result
            return None

    def claim(self, speculative_id: str, final: Any) -> tuple[str, Any | None]:
        """A final utterance confirms ``speculative_id``: ("ready", result), ("pending", None) when the
        recognition is still running (the final is handed back by :meth:`done`), or ("unknown", None)."""
        with self._lock:
            if speculative_id in self._results:
                self.hits += 1
                self._wanted = ""
                return "ready", self._results.pop(speculative_id)
            if speculative_id and speculative_id == self._wanted:
                self._waiting[speculative_id] = final
                return "pending", None
            self._drop_locked()
            return "unknown", None

    def drop(self) -> None:
        """A final utterance that confirms nothing: every speculative result is void."""
        with self._lock:
            self._drop_locked()

    def _drop_locked(self) -> None:
        self.wasted += len(self._results)
        self._wanted = ""
        self._results.clear()
        self._waiting.clear()
