"""The bringup restarts a node that dies and stops everything cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.conftest import Kiosk, node_active

pytestmark = pytest.mark.ros


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_node_is_restarted_and_ctrl_c_stops_everything(tmp_path, recorder_factory):
    namespace = "bringup_test"
    kiosk = Kiosk(tmp_path, namespace, nodes="microphone")
    recorder = recorder_factory(namespace)
    try:
        recorder.wait_for(lambda: node_active(recorder, namespace, "speech/microphone"), 60, "microphone active")
        first = kiosk.pids("microphone")
        assert len(first) == 1
        os.kill(first[0], signal.SIGKILL)
        recorder.wait_for(lambda: len(kiosk.pids("microphone")) == 2, 30, "a restarted microphone")
        recorder.diagnostics.clear()
        recorder.wait_for(lambda: node_active(recorder, namespace, "speech/microphone"), 60,
                          "the restarted microphone active")
        assert "restarting" in kiosk.log_tail()
    finally:
        code = kiosk.stop()
    assert code == 0, kiosk.log_tail()
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in kiosk.pids("microphone")), "a node outlived the bringup"
    assert "stopped" in kiosk.log_tail()


def test_nodes_do_not_outlive_a_killed_bringup(tmp_path, recorder_factory):
    namespace = "orphan_test"
    kiosk = Kiosk(tmp_path, namespace, nodes="microphone")
    recorder = recorder_factory(namespace)
    recorder.wait_for(lambda: node_active(recorder, namespace, "speech/microphone"), 60, "microphone active")
    node_pid = kiosk.pids("microphone")[0]
    kiosk.process.kill()
    kiosk.process.wait()
    deadline = time.monotonic() + 20
    while _alive(node_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    kiosk.stop()
    assert not _alive(node_pid), "a node kept running after its bringup was killed"
