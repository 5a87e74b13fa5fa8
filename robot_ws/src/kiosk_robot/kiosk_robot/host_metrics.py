"""CPU and memory of the host, read from /proc, for every node's diagnostics.

Every kiosk node adds these key/values to its ``/diagnostics`` status, so the staff dashboard
(possibly on another machine) sees each kiosk host's load without a node of its own for it.
The CPU share is measured between two calls (the diagnostics period); off Linux the values are
simply missing.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

__all__ = ["HostMetrics"]


class HostMetrics:
    """Call :meth:`sample` periodically; it returns string key/values for diagnostics."""

    def __init__(self) -> None:
        self._last_cpu: tuple[int, int] | None = None
        self._hostname = socket.gethostname()

    @staticmethod
    def _cpu_times() -> tuple[int, int] | None:
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return None
        values = [int(v) for v in fields]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values), idle

    @staticmethod
    def _meminfo() -> dict[str, int]:
        out = {}
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                key, _, rest = line.partition(":")
                out[key] = int(rest.split()[0])  # kB
        except (OSError, ValueError, IndexError):
            pass
        return out

    @staticmethod
    def _rss_mb() -> float | None:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
        return None

    def sample(self) -> dict[str, str]:
        values = {"hostname": self._hostname}
        cpu = self._cpu_times()
        if cpu is not None and self._last_cpu is not None:
            total, idle = cpu[0] - self._last_cpu[0], cpu[1] - self._last_cpu[1]
            if total > 0:
                values["host_cpu_percent"] = f"{100.0 * (total - idle) / total:.1f}"
        self._last_cpu = cpu
        mem = self._meminfo()
        if mem.get("MemTotal") and "MemAvailable" in mem:
            values["host_mem_used_percent"] = f"{100.0 * (1 - mem['MemAvailable'] / mem['MemTotal']):.1f}"
            values["host_mem_available_mb"] = f"{mem['MemAvailable'] / 1024:.0f}"
        with contextlib.suppress(OSError):
            values["host_load_1m"] = f"{os.getloadavg()[0]:.2f}"
        rss = self._rss_mb()
        if rss is not None:
            values["process_rss_mb"] = f"{rss:.0f}"
        return values
