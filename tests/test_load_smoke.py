"""The load benchmark's code path, small: 100 kiosk-page WebSocket clients and 5 staff sessions for 10 s.

benchmarks/bench_load.py starts the kiosk (dialogue, ui, the center's dashboard) from its own
bringup, connects every client, types a question on the page every second (ending the visit
every 4) and polls the dashboard's API. Here: every client connects, every question is
answered, every reply reaches every page and every staff WebSocket, nothing errs and no node
restarts. Timings are the benchmark's to report (no timed asserts).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_load import run_load

pytestmark = [pytest.mark.ros]


def test_100_pages_and_5_staff_get_every_reply_without_errors(tmp_path, ros_domain):
    report = run_load(tmp_path, clients=100, staff=5, seconds=10.0, every_s=1.0, poll_s=2.0, visit_turns=4)
    connect = report["connect"]
    assert connect["all_connected"] and connect["errors"] == 0, connect
    assert connect["ui_healthz_clients"] == 100, "the page's server counts every client"
    assert report["questions_asked"] >= 8 and report["unanswered_questions"] == 0, report
    deliveries = report["kiosk_deliveries"]
    assert deliveries["expected"] == report["replies"] * 100 and deliveries["missing"] == 0, deliveries
    assert deliveries["received"] == deliveries["expected"]
    assert report["staff_turns"]["missing"] == 0 and report["staff_turns"]["received"] > 0, report["staff_turns"]
    assert report["staff_api_requests"] >= 5 and report["staff_api_errors"] == 0, report["staff_api_error_examples"]
    assert report["disconnects"] == 0, report["disconnect_examples"]
    assert report["errors_total"] == 0, report
    after = report["processes_after"]
    assert set(after) == {"ui", "dashboard", "dialogue"}, report["sampler_errors"]
    assert report["bringup_exit_code"] == 0
