"""Resident memory and open file descriptors of the kiosk's node processes, sampled over time.

Shared by bench_load.py and bench_soak.py: :class:`ProcessSampler` reads ``/proc/<pid>`` of
each node the bringup started (its newest pid: a respawned node is followed and counted) and
summarizes each series as first → last, max and a least-squares slope per hour.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np
from bench_dashboard import rss_mb

from kiosk_robot.harness import Kiosk

__all__ = ["ProcessSampler", "cpu_s", "nofile_limit", "open_fds", "raise_nofile"]


def open_fds(pid: int) -> int:
    """How many file descriptors the process has open (entries of /proc/<pid>/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_s(pid: int) -> float:
    """CPU time (user + system) the process has used, in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile_limit(pid: int) -> tuple[int, int]:
    """The process's (soft, hard) limit on open files, from /proc/<pid>/limits (-1: unlimited)."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return (-1 if soft == "unlimited" else int(soft)), (-1 if hard == "unlimited" else int(hard))
    return -1, -1


def raise_nofile(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (never above the hard limit); the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


class ProcessSampler:
    """Samples RSS (MB) and open fds of named node processes of a :class:`Kiosk`."""

    def __init__(self, kiosk: Kiosk, names: list[str], fixed: dict[str, int] | None = None) -> None:
        """``names``: nodes the bringup started; ``fixed``: other processes by pid (e.g. the bringup's)."""
        self.kiosk = kiosk
        self.fixed = fixed or {}
        self.names = [*names, *self.fixed]
        self.start = time.monotonic()
        self.samples: dict[str, list[tuple[float, float, int, float]]] = {n: [] for n in self.names}  # t, MB, fds, cpu
        self.errors: list[str] = []

    def sample(self) -> dict[str, dict]:
        """One sample of every process now; returns {name: {"rss_mb", "fds", "cpu_s", "pid"}} of those read."""
        t = round(time.monotonic() - self.start, 1)
        now: dict[str, dict] = {}
        for name in self.names:
            pids = [self.fixed[name]] if name in self.fixed else self.kiosk.pids(name)
            if not pids:
                self.errors.append(f"{t} s: no {name} process started")
                continue
            try:
                rss, fds, cpu = rss_mb(pids[-1]), open_fds(pids[-1]), cpu_s(pids[-1])
            except OSError as exc:  # it exited between the log line and the read
                self.errors.append(f"{t} s: {name} (pid {pids[-1]}) not readable: {exc}")
                continue
            self.samples[name].append((t, rss, fds, cpu))
            now[name] = {"rss_mb": round(rss, 1), "fds": fds, "cpu_s": round(cpu, 1), "pid": pids[-1]}
        return now

    def summary(self, with_series: bool = True, min_slope_span_s: float = 600.0,
                warmup_s: float = 0.0) -> dict[str, dict]:
        """Per process: RSS and fds first → last, growth, max, slope per hour; CPU %; restarts; the series.

        The slope (least squares) is given only for series spanning ``min_slope_span_s``: over every
        sample, and over those after ``warmup_s`` (models and caches filled: the part that tells a leak).
        """
        out: dict[str, dict] = {}
        for name, series in self.samples.items():
            if not series:
                out[name] = {"samples": 0}
                continue
            t = np.array([s[0] for s in series]) / 3600.0
            rss = np.array([s[1] for s in series])
            fds = np.array([s[2] for s in series], dtype=float)
            slope = len(series) >= 3 and (t[-1] - t[0]) * 3600.0 >= min_slope_span_s
            warm = t >= t[0] + warmup_s / 3600.0
            warm_slope = slope and warmup_s > 0 and warm.sum() >= 3
            out[name] = {
                "rss_mb": {"first": round(float(rss[0]), 1), "last": round(float(rss[-1]), 1),
                           "growth": round(float(rss[-1] - rss[0]), 1), "max": round(float(rss.max()), 1),
                           "slope_mb_per_h": round(float(np.polyfit(t, rss, 1)[0]), 2) if slope else None,
                           "slope_after_warmup_mb_per_h": round(float(np.polyfit(t[warm], rss[warm], 1)[0]), 2)
                           if warm_slope else None},
                "fds": {"first": int(fds[0]), "last": int(fds[-1]), "growth": int(fds[-1] - fds[0]),
                        "max": int(fds.max()),
                        "slope_per_h": round(float(np.polyfit(t, fds, 1)[0]), 2) if slope else None},
                "cpu_percent": round((series[-1][3] - series[0][3]) / (series[-1][0] - series[0][0]) * 100, 1)
                if series[-1][0] > series[0][0] else None,
                "restarts": 0 if name in self.fixed else max(0, len(self.kiosk.pids(name)) - 1),
                "samples": len(series),
            }
            if with_series:
                out[name]["series"] = [(s[0], round(s[1], 1), s[2]) for s in series]  # (t_s, rss_mb, fds)
        return out
