"""kiosk_province_view: every center's kiosks of a province, live over Zenoh.

Subscribes to ``kiosk/<province>/**``, asks the centers for their latest values when it starts
(so a view opened late is complete at once), and marks a center offline when its bridge's
liveliness token goes away. ``--once`` prints one snapshot (JSON with ``--json``) and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from typing import Any

from fleet.keys import ROOT, key_id, parse_key
from fleet.session import ZenohOptions, endpoints, open_session


class ProvinceView:
    """The latest health and stats per kiosk, the escalations seen and the centers alive."""

    def __init__(self, session, province: str, max_escalations: int = 1000) -> None:
        self.session = session
        self.province = key_id(province)
        self._lock = threading.Lock()
        self.kiosks: dict[tuple[str, str], dict[str, Any]] = {}
        self.escalations: list[dict[str, Any]] = []
        self.centers_alive: dict[str, bool] = {}
        self.max_escalations = max_escalations
        prefix = f"{ROOT}/{self.province}"
        self._sub = session.declare_subscriber(f"{prefix}/**", self._on_sample)
        self._alive = session.liveliness().declare_subscriber(f"{prefix}/*/alive", self._on_alive, history=True)
        self.refresh()

    def refresh(self, timeout_s: float = 2.0) -> None:
        """Ask every center for its latest health and stats."""
        for reply in self.session.get(f"{ROOT}/{self.province}/**", timeout=timeout_s):
            if reply.ok is not None:
                self._record(str(reply.ok.key_expr), reply.ok.payload.to_string())

    def _on_sample(self, sample) -> None:
        self._record(str(sample.key_expr), sample.payload.to_string())

    def _on_alive(self, sample) -> None:
        center = str(sample.key_expr).split("/")[2]
        with self._lock:
            self.centers_alive[center] = str(sample.kind).endswith("PUT")

    def _record(self, key: str, data: str) -> None:
        parsed = parse_key(key)
        if parsed is None:
            return
        _province, center, kiosk, kind = parsed
        try:
            payload = json.loads(data)
        except ValueError:
            return
        with self._lock:
            if kind == "escalation":
                if all(e.get("escalation_id") != payload.get("escalation_id") for e in self.escalations):
                    self.escalations.append({"center": center, "kiosk": kiosk, **payload})
                    del self.escalations[:-self.max_escalations]
            else:
                self.kiosks.setdefault((center, kiosk), {})[kind] = payload

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            centers: dict[str, Any] = {}
            for (center, kiosk), values in sorted(self.kiosks.items()):
                entry = centers.setdefault(center, {"alive": self.centers_alive.get(center, False), "kiosks": {}})
                entry["kiosks"][kiosk] = values
            for center, alive in self.centers_alive.items():
                centers.setdefault(center, {"alive": alive, "kiosks": {}})["alive"] = alive
            return {"province": self.province, "centers": centers, "escalations": list(self.escalations)}

    def close(self) -> None:
        for thing in (self._sub, self._alive):
            with contextlib.suppress(Exception):
                thing.undeclare()


def _table(snapshot: dict[str, Any]) -> str:
    lines = [f"province {snapshot['province']}: {len(snapshot['centers'])} center(s)"]
    for center, entry in snapshot["centers"].items():
        lines.append(f"  {center} ({'online' if entry['alive'] else 'OFFLINE'})")
        for kiosk, values in entry["kiosks"].items():
            health, stats = values.get("health", {}), values.get("stats", {})
            lines.append(f"    {kiosk:<16} {health.get('level', '?'):<6} visits {stats.get('visits', 0):>5}  "
                         f"replies {stats.get('replies', 0):>5}  escalations {stats.get('escalations', 0):>4}")
    lines.append(f"  escalations seen: {len(snapshot['escalations'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk_province_view", description=__doc__.splitlines()[0])
    parser.add_argument("--province", required=True, help="province id, e.g. ha-noi")
    parser.add_argument("--connect", default="", help="Zenoh endpoints to connect to, comma-separated")
    parser.add_argument("--listen", default="", help="Zenoh endpoints to listen on, e.g. tcp/0.0.0.0:7447")
    parser.add_argument("--mode", default="peer", choices=("peer", "client"))
    parser.add_argument("--config", default="", help="Zenoh JSON5 config file (TLS, credentials)")
    parser.add_argument("--once", action="store_true", help="print one snapshot and exit")
    parser.add_argument("--wait-s", type=float, default=3.0, help="with --once: listen this long first")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    session = open_session(ZenohOptions(mode=args.mode, connect=endpoints(args.connect),
                                        listen=endpoints(args.listen), config_path=args.config))
    view = ProvinceView(session, args.province)
    try:
        while True:
            time.sleep(args.wait_s if args.once else 5.0)
            snap = view.snapshot()
            print(json.dumps(snap, ensure_ascii=False, indent=2) if args.json else _table(snap), flush=True)
            if args.once:
                return 0
    except KeyboardInterrupt:
        return 0
    finally:
        view.close()
        session.close()


if __name__ == "__main__":
    sys.exit(main())
