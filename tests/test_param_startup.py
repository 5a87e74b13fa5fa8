"""Bad parameter values at start-up: real node processes refuse them and say so in diagnostics;
a parameter file rcl cannot parse is held by the bringup until it changes (not restarted forever)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from kiosk_robot.harness import VENV_BIN
from kiosk_robot.params import CONFIG_ERROR_EXIT
from tests.conftest import REPO, Kiosk

pytestmark = pytest.mark.ros
ERROR = 2


def test_values_from_ros_args_are_checked_before_configure(recorder_factory):
    namespace = "param_cli"
    node = subprocess.Popen([str(VENV_BIN / "asr_node"), "--ros-args", "-r", f"__ns:=/{namespace}",
                             "-p", "beam_size:=-3", "-p", "num_hypotheses:=0", "-p", "retry_period_s:=1.0"],
                            cwd=REPO, env=dict(os.environ, KIOSK_ROOT=str(REPO)), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    recorder = recorder_factory(namespace)
    try:
        status = recorder.wait_for(
            lambda: (s := recorder.diagnostics.get(f"/{namespace}/speech/asr")) and s["level"] == ERROR and s,
            60, "asr ERROR about its parameters")
        message = status["message"]
        assert f"/{namespace}/asr" in message
        assert "beam_size = -3 must be > 0" in message and "num_hypotheses = 0 must be > 0" in message
        assert status["values"]["lifecycle_state"] == "unconfigured"
        assert status["values"]["invalid_parameters"] == "3"  # and num_hypotheses <= beam_size
        time.sleep(2.5)  # retries keep failing: never active with these values
        assert recorder.diagnostics[f"/{namespace}/speech/asr"]["values"]["lifecycle_state"] == "unconfigured"
        assert node.poll() is None, "the node must stay up and report"
    finally:
        node.terminate()
        node.wait(timeout=20)


def test_a_wrong_type_in_a_file_is_reported_not_a_traceback(tmp_path, recorder_factory):
    """Only when no earlier file sets the key: after one, rcl silently keeps the earlier value (the
    bringup's check catches that case before anything starts)."""
    namespace = "param_type"
    params = tmp_path / "bad.yaml"
    params.write_text("/**/asr:\n  ros__parameters:\n    cpu_threads: many\n    retry_period_s: 1.0\n")
    log = tmp_path / "asr.log"
    with log.open("w") as out:
        node = subprocess.Popen([str(VENV_BIN / "asr_node"), "--ros-args", "-r", f"__ns:=/{namespace}",
                                 "--params-file", str(params)], cwd=REPO, env=dict(os.environ, KIOSK_ROOT=str(REPO)),
                                stdout=out, stderr=subprocess.STDOUT)
    recorder = recorder_factory(namespace)
    try:
        status = recorder.wait_for(
            lambda: (s := recorder.diagnostics.get(f"/{namespace}/speech/asr")) and s["level"] == ERROR and s,
            60, "asr ERROR about cpu_threads")
        assert "cpu_threads expects integer, found string 'many'" in status["message"]
        assert node.poll() is None
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
    finally:
        node.terminate()
        node.wait(timeout=20)


def test_unparsable_file_holds_the_node_until_the_file_changes(tmp_path, recorder_factory):
    namespace = "param_yaml"
    kiosk = Kiosk(tmp_path, namespace, nodes="microphone", extra_args=["--skip-check"],
                  params_suffix="/**/asr:\n  ros__parameters:\n    beam_size: [1, 2\n")
    recorder = recorder_factory(namespace)
    try:
        recorder.wait_for(lambda: "not restarting it until one of its parameter files changes" in kiosk.log_tail(),
                          60, "the bringup holding the microphone")
        assert f"exit {CONFIG_ERROR_EXIT}" in kiosk.log_tail() and "Traceback" not in kiosk.log_tail()
        time.sleep(4.0)  # longer than the first respawn delays: still one attempt
        assert len(kiosk.pids("microphone")) == 1
        kiosk.params_file.write_text(kiosk.params_text)
        recorder.wait_for(lambda: (s := recorder.diagnostics.get(f"/{namespace}/speech/microphone"))
                          and s["values"].get("lifecycle_state") == "active", 60, "microphone active after the fix")
        assert len(kiosk.pids("microphone")) == 2
    finally:
        assert kiosk.stop() == 0, kiosk.log_tail()


def test_the_sim_profile_adds_its_parameter_file(tmp_path, recorder_factory):
    namespace = "param_sim"
    kiosk = Kiosk(tmp_path, namespace, nodes="microphone", extra_args=["--profile", "sim"])
    recorder = recorder_factory(namespace)
    try:
        recorder.wait_for(lambda: (s := recorder.diagnostics.get(f"/{namespace}/speech/microphone"))
                          and s["values"].get("lifecycle_state") == "active", 60, "microphone active")
        cmdline = (Path("/proc") / str(kiosk.pids("microphone")[0]) / "cmdline").read_bytes().split(b"\0")
        files = [arg.decode() for i, arg in enumerate(cmdline) if i and cmdline[i - 1] == b"--params-file"]
        # the node's own file, then the profile's, then the caller's (which wins)
        assert [Path(f).name for f in files] == ["kiosk.yaml", "sim.yaml", "test_params.yaml"]
    finally:
        assert kiosk.stop() == 0, kiosk.log_tail()
