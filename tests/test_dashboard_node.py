"""The dashboard node's failure paths: it stays up and says what is wrong and how to fix it."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import Kiosk

pytestmark = pytest.mark.ros
ERROR = 2


def _dashboard(tmp_path, namespace: str, **params) -> Kiosk:
    return Kiosk(tmp_path, namespace, nodes="dashboard", dashboard_namespace=namespace,
                 overrides={"dashboard": {"retry_period_s": 1.0, **params}})


def test_a_busy_port_is_reported(tmp_path, recorder_factory):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        dashboard = _dashboard(tmp_path, "dash_port", port=port)
        recorder = recorder_factory("dash_port")
        try:
            recorder.wait_for(lambda: (s := recorder.diagnostics.get("/dash_port/dashboard/dashboard"))
                              and s["level"] == ERROR and "port" in s["message"], 60, "ERROR about the busy port")
        finally:
            assert dashboard.stop() == 0, dashboard.log_tail()


def test_an_unusable_database_path_is_reported_and_retried(tmp_path, recorder_factory):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the database folder should be")
    dashboard = _dashboard(tmp_path, "dash_db", storage={"db_path": str(blocker / "dashboard.db")})
    recorder = recorder_factory("dash_db")
    try:
        status = recorder.wait_for(lambda: (s := recorder.diagnostics.get("/dash_db/dashboard/dashboard"))
                                   and s["level"] == ERROR and "db_path" in s["message"] and s, 60,
                                   "ERROR naming storage.db_path")
        assert status["values"]["lifecycle_state"] == "unconfigured"
        recorder.diagnostics.clear()
        recorder.wait_for(lambda: recorder.diagnostics.get("/dash_db/dashboard/dashboard"), 10, "still reporting")
        assert len(dashboard.pids("dashboard")) == 1, dashboard.log_tail()
    finally:
        assert dashboard.stop() == 0, dashboard.log_tail()
