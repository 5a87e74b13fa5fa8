"""Load: 1,000 kiosk-page WebSocket clients and 50 staff sessions on the real kiosk, one JSON object.

The kiosk runs from its own bringup (dialogue, ui and the center's dashboard: separate processes,
real DDS, real uvicorn). This process holds ``--kiosk-clients`` WebSocket clients of the kiosk
page (``/ws``, reading every event like the page) and ``--staff`` logged-in staff sessions (each
its own account: the staff WebSocket, and a GET of the dashboard's API every ``--staff-poll-s``)
for ``--seconds``, while a driver types a question on the page (``POST /api/ask``) every
``--ask-every-s`` and ends the visit every ``--visit-turns`` questions.

Measured: connects and their errors; reply published (its ``published_unix_s``) → received, over
every kiosk client × reply (p50/p95/p99/max) and replies missed; staff API latency; staff event
lag (reply published → the staff WebSocket's ``turn``); disconnects; the RSS and open fds of the
ui and dashboard processes before the clients connect, with all connected, and after they left.
Every client runs in this one asyncio process: latencies include its own work of reading 1,000
sockets on the same cores as the kiosk (``bench_loop_lag_ms``: how late its event loop wakes).

Usage: .venv/bin/python benchmarks/bench_load.py [--seconds 120] [--kiosk-clients 1000] [--staff 50]
       [--ask-every-s 2] [--staff-poll-s 5] [--visit-turns 8] [--rounds 1] [--server-nofile N]
       [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from bench_dashboard import PASSWORD, QUESTIONS, login, stats_ms
from proc_stats import ProcessSampler, nofile_limit, raise_nofile
from websockets.asyncio.client import connect

from kiosk_robot.harness import Kiosk, TopicRecorder, node_active
from kiosk_robot.systemd import LIMIT_NOFILE

NAMESPACE = "load_kiosk"
CENTER = "load_center"
STAFF_ENDPOINTS = ["/api/auth/me", "/api/kiosks", "/api/escalations?limit=50", "/api/stats/summary?days=1",
                   "/api/stats/unanswered?days=1&limit=50"]
CONNECTS_AT_ONCE = 64  # handshakes in flight together (a crowd of pages opening, not a SYN flood)


def percentiles_ms(values: list[float]) -> dict[str, float]:
    """stats_ms plus p99."""
    out = stats_ms(values)
    if values:
        out["p99"] = round(float(np.percentile(np.asarray(values) * 1000.0, 99)), 1)
    return out


@dataclass
class Tally:
    """What the clients saw: per-client reply arrivals, connects, errors."""

    replies: list[dict[str, float]] = field(default_factory=list)  # per kiosk client: reply_id → arrival unix s
    staff_turns: list[dict[str, float]] = field(default_factory=list)  # per staff socket: line id → arrival
    connect_s: list[float] = field(default_factory=list)
    staff_connect_s: list[float] = field(default_factory=list)
    connect_errors: list[str] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)
    staff_api_s: dict[str, list[float]] = field(default_factory=dict)
    staff_api_errors: list[str] = field(default_factory=list)
    connected: int = 0
    sockets: set = field(default_factory=set)  # open client connections (closed at the end)


async def read_socket(ws, label: str, tally: Tally, stop: asyncio.Event, on_event: Callable) -> None:
    """Read every frame (``on_event(event, arrival unix s)``) until the socket closes; a close not
    asked for by this benchmark is a disconnect."""
    tally.connected += 1
    tally.sockets.add(ws)
    try:
        async for raw in ws:
            now = time.time()
            on_event(json.loads(raw), now)
        ended = f"closed by the server ({ws.close_code})"
    except Exception as exc:
        ended = repr(exc)
    finally:
        tally.connected -= 1
        tally.sockets.discard(ws)
        await ws.close()
    if not stop.is_set():
        tally.disconnects.append(f"{label}: {ended}")


async def kiosk_client(url: str, i: int, tally: Tally, gate: asyncio.Semaphore, stop: asyncio.Event) -> None:
    """One kiosk page: connect, skip the replayed history, timestamp every live reply; reconnect like the page."""
    seen = tally.replies[i]
    replay = -1

    def on_event(event: dict, now: float) -> None:
        nonlocal replay
        if replay != 0:  # hello, then its N replayed events: not live
            replay = event["replay"] if replay < 0 else replay - 1
        elif event.get("kind") == "reply":
            seen.setdefault(event["reply_id"], now)

    while not stop.is_set():
        try:
            async with gate:
                t0 = time.perf_counter()
                ws = await connect(url, open_timeout=60, ping_interval=None, max_size=2**22, close_timeout=2)
                tally.connect_s.append(time.perf_counter() - t0)
        except Exception as exc:
            tally.connect_errors.append(f"kiosk client {i}: {exc!r}")
            await asyncio.sleep(1.0)
            continue
        replay = -1
        await read_socket(ws, f"kiosk client {i}", tally, stop, on_event)
        if not stop.is_set():
            await asyncio.sleep(0.5)  # then reconnect, as the page does


async def staff_session(url: str, i: int, cookie: str, tally: Tally, stop: asyncio.Event, poll_s: float) -> None:
    """One staff member: the live WebSocket, and the API polled in the pages' order."""
    seen = tally.staff_turns[i]

    def on_event(event: dict, now: float) -> None:
        if event.get("kind") == "turn" and event["line"]["role"] == "kiosk":
            seen.setdefault(event["line"]["id"], now)

    async def socket() -> None:
        t0 = time.perf_counter()
        try:
            ws = await connect(url.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie},
                               open_timeout=60, ping_interval=None, max_size=2**24)
        except Exception as exc:
            tally.connect_errors.append(f"staff socket {i}: {exc!r}")
            return
        tally.staff_connect_s.append(time.perf_counter() - t0)
        await read_socket(ws, f"staff socket {i}", tally, stop, on_event)

    async def poll() -> None:
        cookies = {"kdash_session": cookie.split("=", 1)[1]}
        async with httpx.AsyncClient(base_url=url, timeout=30, cookies=cookies) as client:
            await asyncio.sleep(random.Random(i).uniform(0, poll_s))  # pages opened at different moments
            k = i
            while not stop.is_set():
                path = STAFF_ENDPOINTS[k % len(STAFF_ENDPOINTS)]
                k += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(path)
                    if r.status_code != 200:
                        tally.staff_api_errors.append(f"{path}: HTTP {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    tally.staff_api_errors.append(f"{path}: {exc!r}")
                tally.staff_api_s.setdefault(path.split("?")[0], []).append(time.perf_counter() - t0)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_s)

    task = asyncio.create_task(socket())
    await poll()
    await asyncio.wait({task}, timeout=5)


async def drive(url: str, recorder: TopicRecorder, seconds: float, every_s: float, visit_turns: int,
                errors: list[str]) -> dict[str, float]:
    """Type a question every ``every_s``; end the visit every ``visit_turns`` (once its last reply came)."""
    asked: dict[str, float] = {}  # input_id → sent unix s
    rng = random.Random(11)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def post(path: str, body: dict) -> dict | None:
            try:
                r = await client.post(path, json=body)
            except httpx.HTTPError as exc:
                errors.append(f"{path}: {exc!r}")
                return None
            if r.status_code != 202:
                errors.append(f"{path}: HTTP {r.status_code} {r.text[:200]}")
                return None
            return r.json()

        start = time.monotonic()
        k = 0
        while time.monotonic() - start < seconds:
            if asked and k % visit_turns == 0:
                last = next(reversed(asked))
                for _ in range(100):  # the visit's last reply first: a closed visit's replies are shown to nobody
                    if any(r.get("in_reply_to") == last for r in recorder.get("dialogue/reply")):
                        break
                    await asyncio.sleep(0.1)
                await post("/api/session", {"action": "end"})
            t0 = time.time()
            if (accepted := await post("/api/ask", {"text": rng.choice(QUESTIONS)})) is not None:
                asked[accepted["input_id"]] = t0
            k += 1
            await asyncio.sleep(max(0.0, start + k * every_s - time.monotonic()))
    return asked


async def loop_lag(stop: asyncio.Event, lags: list[float], period_s: float = 0.05) -> None:
    """How late this process's own event loop wakes up (its share of every latency measured here)."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(period_s)
        lags.append(time.perf_counter() - t0 - period_s)


def round_errors(result: dict) -> int:
    return sum((result["connect"]["errors"], result["disconnects"], result["staff_api_errors"],
                result["driver_error_count"]))


def staff_accounts(url: str, count: int) -> list[str]:
    """Create ``count`` staff accounts (as the admin, through the API) and log each in: their cookies."""
    admin, _ = login(url)
    csrf = admin.get("/api/auth/me").json()["csrf_token"]
    cookies = []
    for i in range(count):
        username, password = f"staff{i:03d}", f"load test password {i:03d}"
        r = admin.post("/api/accounts", json={"username": username, "display_name": f"Cán bộ {i}", "role": "staff",
                                              "password": password}, headers={"X-CSRF-Token": csrf})
        r.raise_for_status()
        client, cookie = login(url, username, password)
        client.close()
        cookies.append(cookie)
    admin.close()
    return cookies


async def hold_load(kiosk: Kiosk, recorder: TopicRecorder, sampler: ProcessSampler, cookies: list[str],
                    clients: int, seconds: float, every_s: float, poll_s: float, visit_turns: int) -> dict:
    """One round: connect every client, drive questions for ``seconds``, disconnect; this round's figures."""
    tally = Tally(replies=[{} for _ in range(clients)], staff_turns=[{} for _ in cookies])
    stop = asyncio.Event()
    gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
    wanted = clients + len(cookies)
    ws_url = kiosk.url.replace("http", "ws") + "/ws"
    t0 = time.monotonic()
    tasks = [asyncio.create_task(kiosk_client(ws_url, i, tally, gate, stop)) for i in range(clients)]
    tasks += [asyncio.create_task(staff_session(kiosk.dashboard_url, i, c, tally, stop, poll_s))
              for i, c in enumerate(cookies)]
    while tally.connected < wanted and time.monotonic() - t0 < 120:
        await asyncio.sleep(0.2)
    connect_phase = {"all_connected": tally.connected >= wanted, "seconds": round(time.monotonic() - t0, 1),
                     "connected": tally.connected, "wanted": wanted}
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            connect_phase["ui_healthz_clients"] = (await client.get(kiosk.url + "/healthz")).json().get("clients")
    except httpx.HTTPError as exc:  # e.g. the ui process out of file descriptors
        connect_phase["ui_healthz_clients"] = None
        tally.connect_errors.append(f"/healthz: {exc!r}")
    await asyncio.sleep(2.0)
    connected = sampler.sample()
    drive_errors: list[str] = []
    window_start = time.time()
    lags: list[float] = []
    lag_task = asyncio.create_task(loop_lag(stop, lags))
    driver = asyncio.create_task(drive(kiosk.url, recorder, seconds, every_s, visit_turns, drive_errors))
    next_sample = time.monotonic() + 10
    while not driver.done():
        await asyncio.sleep(0.5)
        if time.monotonic() >= next_sample:
            sampler.sample()
            next_sample += 10
    asked = driver.result()
    await asyncio.sleep(5.0)  # the last replies reach every client
    during = sampler.sample()
    stop.set()
    await asyncio.gather(*(ws.close() for ws in list(tally.sockets)), return_exceptions=True)
    await asyncio.gather(*tasks, lag_task, return_exceptions=True)
    replies = [r for r in recorder.get("dialogue/reply") if r.get("in_reply_to") in asked]
    published = {r["reply_id"]: r["published_unix_s"] for r in replies}
    answer_s = [r["published_unix_s"] - asked[r["in_reply_to"]] for r in replies]
    delivery = [seen[rid] - t for seen in tally.replies for rid, t in published.items() if rid in seen]
    missing = sum(1 for seen in tally.replies for rid in published if rid not in seen)
    staff_lag = [seen[rid] - t for seen in tally.staff_turns for rid, t in published.items() if rid in seen]
    staff_missing = sum(1 for seen in tally.staff_turns for rid in published if rid not in seen)
    api_all = [v for vals in tally.staff_api_s.values() for v in vals]
    return {
        "connect": {**connect_phase, "kiosk_handshake_ms": percentiles_ms(tally.connect_s),
                    "staff_handshake_ms": percentiles_ms(tally.staff_connect_s),
                    "errors": len(tally.connect_errors), "error_examples": tally.connect_errors[:5]},
        "window_s": round(time.time() - window_start, 1),
        "questions_asked": len(asked), "replies": len(replies), "unanswered_questions": len(asked) - len(replies),
        "ask_to_reply_published_ms": percentiles_ms(answer_s),
        "bench_loop_lag_ms": percentiles_ms(lags),
        "kiosk_reply_delivery_ms": percentiles_ms(delivery),
        "kiosk_deliveries": {"expected": len(published) * clients, "received": len(delivery), "missing": missing},
        "staff_event_lag_ms": percentiles_ms(staff_lag),
        "staff_turns": {"expected": len(published) * len(cookies), "received": len(staff_lag),
                        "missing": staff_missing},
        "staff_api_ms": percentiles_ms(api_all),
        "staff_api_ms_by_endpoint": {k: percentiles_ms(v) for k, v in tally.staff_api_s.items()},
        "staff_api_requests": len(api_all), "staff_api_errors": len(tally.staff_api_errors),
        "staff_api_error_examples": tally.staff_api_errors[:5],
        "disconnects": len(tally.disconnects), "disconnect_examples": tally.disconnects[:5],
        "driver_errors": drive_errors[:5], "driver_error_count": len(drive_errors),
        "processes_all_connected": connected, "processes_end_of_window": during,
    }


def run_load(tmp: Path, clients: int = 1000, staff: int = 50, seconds: float = 120.0, every_s: float = 2.0,
             poll_s: float = 5.0, visit_turns: int = 8, server_nofile: int | None = None, rounds: int = 1) -> dict:
    """Start the kiosk (dialogue, ui, dashboard), hold the load, stop it; the report (also used by the smoke test).

    ``server_nofile``: lower the ui's and dashboard's soft open-files limit to this once they run
    (1024: what systemd gives a unit without ``LimitNOFILE``). ``rounds``: connect, hold and
    disconnect every client this many times on the same kiosk (memory kept or leaked per round).
    """
    nofile = raise_nofile(LIMIT_NOFILE)  # the clients' sockets here; the kiosk inherits what its unit gives it
    kiosk = Kiosk(tmp, NAMESPACE, nodes="dialogue,ui,dashboard", dashboard_namespace=CENTER,
                  overrides={"dashboard": {"discovery_period_s": 1.0}})
    recorder = TopicRecorder(NAMESPACE)
    report: dict = {"kiosk_clients": clients, "staff_sessions": staff, "seconds": seconds, "ask_every_s": every_s,
                    "staff_poll_s": poll_s, "bench_nofile_soft": nofile}
    try:
        recorder.wait_for(lambda: all(node_active(recorder, ns, n) for ns, n in (
            (NAMESPACE, "dialogue/dialogue"), (NAMESPACE, "ui/ui"), (CENTER, "dashboard/dashboard"))), 120,
            "dialogue, ui and dashboard active")
        recorder.wait_for(lambda: recorder.node.count_subscribers("dialogue/reply") >= 2, 30, "the ui and the "
                          "dashboard subscribed to the replies")
        proc = subprocess.run([sys.executable, "-m", "kiosk_ui.dashboard", "create-admin", "--db",
                               str(tmp / "dashboard.db"), "--password-stdin"], input=PASSWORD + "\n", text=True,
                              capture_output=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"create-admin failed: {proc.stderr}")
        cookies = staff_accounts(kiosk.dashboard_url, staff)
        admin, _ = login(kiosk.dashboard_url)
        recorder.wait_for(lambda: NAMESPACE in {k["kiosk"] for k in admin.get("/api/kiosks").json()["kiosks"]},
                          60, "the dashboard discovered the kiosk")
        admin.close()
        sampler = ProcessSampler(kiosk, ["ui", "dashboard", "dialogue"])
        if server_nofile is not None:
            for name in ("ui", "dashboard"):
                pid = kiosk.pids(name)[-1]
                resource.prlimit(pid, resource.RLIMIT_NOFILE, (server_nofile, nofile_limit(pid)[1]))
        report["nofile_limits"] = {n: nofile_limit(kiosk.pids(n)[-1]) for n in sampler.names}
        short = [n for n in ("ui", "dashboard") if 0 <= report["nofile_limits"][n][0] < clients + staff + 100]
        if short:
            report["nofile_warning"] = (f"{short}: soft open-files limit below the clients held; connections will be "
                                        f"refused (systemd units need LimitNOFILE, see kiosk_robot.systemd)")
        report["processes_before"] = sampler.sample()
        errors = 0
        for i in range(rounds):
            result = asyncio.run(hold_load(kiosk, recorder, sampler, cookies, clients, seconds, every_s, poll_s,
                                           visit_turns))
            time.sleep(3.0)  # the servers close the sockets and free the clients' buffers
            result["processes_after"] = sampler.sample()
            errors += round_errors(result)
            if i == 0:
                report.update(result)
            else:
                report.setdefault("later_rounds", []).append({k: result[k] for k in (
                    "connect", "kiosk_reply_delivery_ms", "kiosk_deliveries", "staff_turns", "staff_api_ms",
                    "disconnects", "processes_all_connected", "processes_after")})
        report["processes"] = sampler.summary(with_series=False)
        report["errors_total"] = errors + len(sampler.errors) + sum(p.get("restarts", 0)
                                                                    for p in report["processes"].values())
        report["sampler_errors"] = sampler.errors[:5]
    except Exception:
        print(f"the kiosk's log:\n{kiosk.log_tail(6000)}", file=sys.stderr)
        raise
    finally:
        recorder.close()
        report["bringup_exit_code"] = kiosk.stop()
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--kiosk-clients", type=int, default=1000)
    ap.add_argument("--staff", type=int, default=50)
    ap.add_argument("--ask-every-s", type=float, default=2.0)
    ap.add_argument("--staff-poll-s", type=float, default=5.0)
    ap.add_argument("--visit-turns", type=int, default=8, help="questions per visit (then the visit is ended)")
    ap.add_argument("--server-nofile", type=int, default=None,
                    help="soft open-files limit of the ui and dashboard (1024: a systemd unit without LimitNOFILE)")
    ap.add_argument("--rounds", type=int, default=1, help="connect, hold, disconnect this many times")
    ap.add_argument("--quick", action="store_true", help="a short run: 200 clients, 10 staff, 20 s")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = ap.parse_args()
    if args.quick:
        args.kiosk_clients, args.staff, args.seconds = 200, 10, 20.0
    return emit(lambda tmp: run_load(tmp, args.kiosk_clients, args.staff, args.seconds, args.ask_every_s,
                                     args.staff_poll_s, args.visit_turns, args.server_nofile, args.rounds), args.out)


def emit(run: Callable[[Path], dict], out: Path | None) -> int:
    """Run a benchmark in a temporary folder; print its report as JSON (and write it to ``out``), with the load."""
    report: dict = {"machine": {"cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]}}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        report.update(run(Path(tmp)))
    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(report, ensure_ascii=False, indent=1)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
