"""Benchmark the staff dashboard and print one JSON object.

The dashboard node runs from its own bringup (a separate process, real DDS, real uvicorn); the
kiosks are simulated by an rclpy node in this process that publishes, in each kiosk's namespace,
exactly what real kiosk nodes publish (1 Hz diagnostics of three nodes, visits, replies,
escalations, ratings).

* escalation published → visible on the dashboard: at a logged-in staff WebSocket client, and
  in headless Chromium (the moment the live page puts the escalation in its DOM), p50/p95.
* load: N simulated kiosks (default 10) and T conversation turns per minute (default 100) for D
  seconds (default 120), while a staff client polls the API (4 requests/s): API latency p50/p95,
  event lag (reply published → staff WebSocket), RSS growth of the dashboard process, database
  size per 1,000 stored turns.

Usage: .venv/bin/python benchmarks/bench_dashboard.py [--duration-s 120] [--kiosks 10]
       [--turns-per-min 100] [--escalations 40] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("KIOSK_ROOT", str(REPO))
os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(30, 200))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

from kiosk_protocol import Escalation, Rating, Reply, SessionEvent, encode  # noqa: E402
from kiosk_robot.harness import Kiosk, TopicRecorder, node_active  # noqa: E402

PASSWORD = "benchmark password 2025"
CHROMIUM = Path("/usr/bin/chromium")
QUESTIONS = ["làm giấy khai sinh cho con cần gì", "đăng ký kết hôn ở quầy nào", "làm căn cước mất bao lâu",
             "đăng ký tạm trú cần giấy tờ gì", "chứng thực bản sao hết bao nhiêu tiền", "giá vàng hôm nay"]


def stats_ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    arr = np.asarray(values, dtype=float) * 1000.0
    return {"p50": round(float(np.percentile(arr, 50)), 1), "p95": round(float(np.percentile(arr, 95)), 1),
            "max": round(float(arr.max()), 1), "mean": round(float(arr.mean()), 1), "n": len(values)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class SimulatedKiosks:
    """Publishes, for each namespace, what a kiosk's nodes publish (absolute topic names)."""

    def __init__(self, recorder: TopicRecorder, namespaces: list[str]) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import String

        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)

        self._node = recorder.node
        self._diag_types = (DiagnosticArray, DiagnosticStatus, KeyValue)
        self._string = String
        self.namespaces = namespaces
        self._diag = self._node.create_publisher(DiagnosticArray, "/diagnostics", 50)
        self._pubs = {(ns, topic): self._node.create_publisher(String, f"/{ns}/{topic}",
                                                               latched if topic == "dialogue/session" else 50)
                      for ns in namespaces
                      for topic in ("dialogue/reply", "dialogue/escalation", "dialogue/session", "ui/rating")}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._diagnostics_loop, daemon=True)
        self._thread.start()
        time.sleep(1.0)

    def _diagnostics_loop(self) -> None:
        array_t, status_t, kv_t = self._diag_types
        while not self._stop.is_set():
            for ns in self.namespaces:
                statuses = [status_t(level=b"\x00", name=f"/{ns}/{name}", message="ok", hardware_id=f"/{ns}",
                                     values=[kv_t(key="lifecycle_state", value="active"),
                                             kv_t(key="hostname", value=ns), kv_t(key="host_cpu_percent", value="20.0"),
                                             kv_t(key="host_mem_used_percent", value="40.0")])
                            for name in ("dialogue/dialogue", "ui/ui", "speech/asr")]
                for status in statuses:  # one status per message, like the kiosk nodes
                    self._diag.publish(array_t(status=[status]))
            self._stop.wait(1.0)

    def publish(self, ns: str, topic: str, message) -> None:
        self._pubs[(ns, topic)].publish(self._string(data=encode(message)))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


class StaffSocket:
    """A logged-in staff WebSocket client that timestamps every event on arrival."""

    def __init__(self, url: str, cookie: str) -> None:
        from websockets.sync.client import connect

        self.events: list[tuple[float, dict]] = []
        self._ws = connect(url.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie},
                           open_timeout=10, max_size=2**24).__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._ws:
                self.events.append((time.time(), json.loads(raw)))
        except Exception:
            return

    def close(self) -> None:
        self._ws.close()


def login(url: str, username: str = "admin", password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """Log in through the API (pre-login CSRF token first): the client and its session cookie header."""
    client = httpx.Client(base_url=url, timeout=30)
    token = client.get("/api/auth/csrf").json()["csrf_token"]
    r = client.post("/api/auth/login", json={"username": username, "password": password},
                    headers={"X-CSRF-Token": token})
    r.raise_for_status()
    return client, f"kdash_session={client.cookies['kdash_session']}"


def bench_escalations(url: str, sim: SimulatedKiosks, cookie: str, count: int, browser: bool,
                      wait: Callable) -> dict:
    ws = StaffSocket(url, cookie)
    page = playwright = None
    if browser:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--autoplay-policy="
                                                    "no-user-gesture-required"])
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "kdash_session", "value": cookie.split("=", 1)[1], "url": url}])
        page = context.new_page()
        page.goto(url + "/")
        page.wait_for_selector("body[data-connected=true]", state="attached", timeout=20000)
    ws_lat, dom_lat = [], []
    ns = sim.namespaces[0]
    for i in range(count):
        esc = Escalation(session_id=f"bench{i}", reason="visitor_request", user_text="cho tôi gặp cán bộ")
        sent = time.time()
        sim.publish(ns, "dialogue/escalation", esc)
        arrived = wait(lambda e=esc: next((t for t, ev in list(ws.events) if ev.get("kind") == "escalation_state"
                                           and ev["escalation"]["escalation_id"] == e.escalation_id), None), 10,
                       "the escalation on the staff WebSocket")
        ws_lat.append(arrived - sent)
        if page is not None:
            selector = f"[data-escalation-id='{esc.escalation_id}']"
            page.wait_for_selector(selector, timeout=10000)
            shown_ms = float(page.get_attribute(selector, "data-shown-unix-ms"))
            dom_lat.append(shown_ms / 1000.0 - sent)
        time.sleep(0.2)
    ws.close()
    if playwright is not None:
        playwright.stop()
    return {"staff_websocket_ms": stats_ms(ws_lat), "browser_dom_ms": stats_ms(dom_lat) if browser else None}


def bench_load(url: str, sim: SimulatedKiosks, client: httpx.Client, cookie: str, pid: int, db_path: Path,
               duration_s: float, turns_per_min: float) -> dict:
    ws = StaffSocket(url, cookie)
    api_latency: dict[str, list[float]] = {}
    stop = threading.Event()
    endpoints = ["/api/kiosks", "/api/stats/summary?days=1", "/api/escalations?limit=50",
                 "/api/stats/chart/by_hour.svg?days=1", "/api/stats/unanswered?days=1&limit=50"]

    def poll() -> None:
        poller = httpx.Client(base_url=url, timeout=30, cookies=client.cookies)
        i = 0
        while not stop.is_set():
            path = endpoints[i % len(endpoints)]
            t0 = time.perf_counter()
            r = poller.get(path)
            api_latency.setdefault(path.split("?")[0], []).append(time.perf_counter() - t0)
            if r.status_code != 200:
                api_latency.setdefault("errors", []).append(r.status_code)
            i += 1
            stop.wait(0.25)

    db_before = _db_pages(db_path)
    rss_samples = [(0.0, rss_mb(pid))]
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    rng = random.Random(7)
    sessions = {ns: "" for ns in sim.namespaces}
    interval = 60.0 / turns_per_min
    sent_replies: dict[str, float] = {}
    start = time.monotonic()
    next_turn = start
    next_rss = start + 10
    turns = 0
    while time.monotonic() - start < duration_s:
        now = time.monotonic()
        if now >= next_rss:
            rss_samples.append((round(now - start, 1), rss_mb(pid)))
            next_rss += 10
        if now < next_turn:
            time.sleep(min(0.05, next_turn - now))
            continue
        next_turn += interval
        ns = rng.choice(sim.namespaces)
        if not sessions[ns] or rng.random() < 0.25:
            if sessions[ns]:
                sim.publish(ns, "dialogue/session", SessionEvent(session_id=sessions[ns], event="ended",
                                                                 reason="visitor_left"))
            sessions[ns] = f"{ns}-{turns}"
            sim.publish(ns, "dialogue/session", SessionEvent(session_id=sessions[ns], event="started",
                                                             reason="first_input"))
        question = rng.choice(QUESTIONS)
        unanswered = "vàng" in question
        reply = Reply(intent="out_of_scope" if unanswered else "dang_ky_khai_sinh",
                      procedure_id=None if unanswered else "dang_ky_khai_sinh", user_text=question,
                      reply_voice="Dạ, để làm thủ tục này anh chị mang tờ khai và căn cước đến quầy số 1. " * 3,
                      session_id=sessions[ns], source=rng.choice(["voice", "screen"]))
        sent_replies[reply.reply_id] = reply.published_unix_s
        sim.publish(ns, "dialogue/reply", reply)
        if rng.random() < 0.05:
            sim.publish(ns, "dialogue/escalation", Escalation(session_id=sessions[ns], reason="visitor_request",
                                                              user_text=question))
        if rng.random() < 0.2:
            sim.publish(ns, "ui/rating", Rating(session_id=sessions[ns], score=rng.randint(3, 5)))
        turns += 1
    time.sleep(2.0)
    stop.set()
    poller.join(5)
    rss_samples.append((round(time.monotonic() - start, 1), rss_mb(pid)))
    lags = []
    for arrived, event in list(ws.events):
        if event.get("kind") == "turn" and event["line"]["role"] == "kiosk" and event["line"]["id"] in sent_replies:
            lags.append(arrived - sent_replies[event["line"]["id"]])
    ws.close()
    db_after = _db_pages(db_path)
    stored = db_after["turns"] - db_before["turns"]
    api_all = [v for k, vals in api_latency.items() if k != "errors" for v in vals]
    return {
        "kiosks": len(sim.namespaces), "turns_per_min": turns_per_min, "duration_s": duration_s,
        "turns_sent": turns, "turns_stored": stored,
        "api_ms": stats_ms(api_all),
        "api_ms_by_endpoint": {k: stats_ms(v) for k, v in api_latency.items() if k != "errors"},
        "api_errors": len(api_latency.get("errors", [])),
        "event_lag_ms": stats_ms(lags), "events_missing": turns - len(lags),
        "dashboard_rss_mb": {"start": round(rss_samples[0][1], 1), "end": round(rss_samples[-1][1], 1),
                             "growth": round(rss_samples[-1][1] - rss_samples[0][1], 1),
                             "samples": [(t, round(v, 1)) for t, v in rss_samples]},
        "db_bytes_per_1000_turns": round((db_after["bytes"] - db_before["bytes"]) / stored * 1000) if stored else None,
        "db_bytes_after": db_after["bytes"],
    }


def _db_pages(path: Path) -> dict[str, int]:
    """Checkpoint the WAL into the file, then (file bytes, stored turns)."""
    conn = sqlite3.connect(str(path), timeout=10)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = pages * conn.execute("PRAGMA page_size").fetchone()[0]
        turns = conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    finally:
        conn.close()
    return {"bytes": int(size), "turns": int(turns)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration-s", type=float, default=120.0)
    ap.add_argument("--kiosks", type=int, default=10)
    ap.add_argument("--turns-per-min", type=float, default=100.0)
    ap.add_argument("--escalations", type=int, default=40)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    out: dict = {"load_avg_start": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp_name:
        tmp = Path(tmp_name)
        dashboard = Kiosk(tmp, "bench_center", nodes="dashboard", dashboard_namespace="bench_center",
                          overrides={"dashboard": {"discovery_period_s": 1.0}})
        recorder = TopicRecorder("bench_center")
        sim = None
        try:
            recorder.wait_for(lambda: node_active(recorder, "bench_center", "dashboard/dashboard"), 60, "dashboard")
            db = tmp / "dashboard.db"
            subprocess.run([sys.executable, "-m", "kiosk_ui.dashboard", "create-admin", "--db", str(db),
                            "--password-stdin"], input=PASSWORD + "\n", text=True, check=True, capture_output=True)
            pid = int(re.findall(r"started dashboard \(pid (\d+)\)", dashboard.log_tail(10**6))[-1])
            sim = SimulatedKiosks(recorder, [f"bench_kiosk{i + 1}" for i in range(args.kiosks)])
            client, cookie = login(dashboard.dashboard_url)
            wanted = set(sim.namespaces)
            try:
                recorder.wait_for(lambda: wanted <= {k["kiosk"] for k in client.get("/api/kiosks").json()["kiosks"]},
                                  60, "all kiosks discovered")
            except AssertionError:
                known = {k["kiosk"] for k in client.get("/api/kiosks").json()["kiosks"]}
                print(f"discovered {sorted(known)}; missing {sorted(wanted - known)}\n{dashboard.log_tail()}",
                      file=sys.stderr)
                raise
            out["escalation_visible"] = bench_escalations(dashboard.dashboard_url, sim, cookie, args.escalations,
                                                          CHROMIUM.exists() and not args.no_browser, recorder.wait_for)
            out["load"] = bench_load(dashboard.dashboard_url, sim, client, cookie, pid, db, args.duration_s,
                                     args.turns_per_min)
        finally:
            if sim is not None:
                sim.close()
            recorder.close()
            dashboard.stop()
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
