"""Missing hardware and missing models: the nodes stay up and say what is wrong and how to fix it."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Kiosk

pytestmark = pytest.mark.ros
ERROR = 2
NAMESPACE = "failure_test"


def _status(recorder, name: str) -> dict | None:
    return recorder.diagnostics.get(f"/{NAMESPACE}/{name}")


def test_nodes_report_missing_devices_and_models_and_keep_running(tmp_path, recorder_factory):
    kiosk = Kiosk(tmp_path, NAMESPACE, nodes="microphone,asr,tts", overrides={
        "microphone": {"source": "device", "device_retry_period_s": 1.0},
        "asr": {"model_path": str(tmp_path / "no_model"), "retry_period_s": 1.0},
        "tts": {"speaker": {"mode": "device"}, "retry_period_s": 1.0},
    })
    recorder = recorder_factory(NAMESPACE)
    try:
        expected = {
            "speech/microphone": ("no microphone", "Fix"),
            "speech/asr": ("model.bin", "scripts/setup.sh"),
            "speech/tts": ("speaker", "fix"),
        }
        for name, words in expected.items():
            recorder.wait_for(
                lambda n=name, w=words: (s := _status(recorder, n)) and s["level"] == ERROR
                and all(x in s["message"] for x in w), 60, f"{name} ERROR naming {words}")
        assert _status(recorder, "speech/microphone")["values"]["lifecycle_state"] == "active"
        assert _status(recorder, "speech/asr")["values"]["lifecycle_state"] == "unconfigured"
        # still alive after several retries, each node in its first process
        recorder.diagnostics.clear()
        recorder.wait_for(lambda: all(_status(recorder, n) for n in expected), 30, "diagnostics keep coming")
        for name in ("microphone", "asr", "tts"):
            pids = kiosk.pids(name)
            assert len(pids) == 1, f"{name} was restarted: {kiosk.log_tail()}"
            os.kill(pids[0], 0)
    finally:
        assert kiosk.stop() == 0, kiosk.log_tail()


def test_ui_reports_a_busy_port(tmp_path, recorder_factory):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        kiosk = Kiosk(tmp_path, "ui_fail", nodes="ui", overrides={"ui": {"port": port}})
        recorder = recorder_factory("ui_fail")
        try:
            recorder.wait_for(
                lambda: (s := recorder.diagnostics.get("/ui_fail/ui/ui")) and s["level"] == ERROR
                and "port" in s["message"], 60, "ui ERROR about the busy port")
        finally:
            assert kiosk.stop() == 0, kiosk.log_tail()
