"""Run the kiosk as real processes and watch its topics: used by tests and benchmarks.

:class:`Kiosk` starts ``kiosk_bringup`` with test parameters layered over config/kiosk.yaml
(simulated microphone folder, WAV speaker, a free UI port); :class:`TopicRecorder` is an rclpy
node in the caller's process that records the kiosk's topics and diagnostics.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(os.environ.get("KIOSK_ROOT", Path(__file__).resolve().parents[4]))
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def espeak_wav(text: str, path: Path, rate_wpm: int = 150) -> Path:
    """Speak Vietnamese text with espeak-ng into a 16 kHz mono WAV (written atomically)."""
    raw = path.with_suffix(".raw.tmp")
    subprocess.run(["espeak-ng", "-v", "vi", "-s", str(rate_wpm), "-w", str(raw), text], check=True)
    tmp = path.with_suffix(".part")
    subprocess.run(["sox", "-q", str(raw), "-r", "16000", "-c", "1", "-t", "wav", str(tmp)], check=True)
    raw.unlink()
    tmp.replace(path)
    return path


class TopicRecorder:
    """A real rclpy node in the test process that records String/Bool topics and diagnostics."""

    def __init__(self, namespace: str) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import Bool, String

        self._rclpy = rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("test_recorder", namespace=namespace, context=self.context)
        self.messages: dict[str, list] = {}
        self.diagnostics: dict[str, dict] = {}
        self.unreadable = 0  # messages on the recorded String topics that were not JSON
        self._lock = threading.Lock()
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        for topic in ("audio/utterance", "speech/transcript", "dialogue/reply", "dialogue/escalation",
                      "speech/spoken", "ui/rating", "ui/input", "perception/visitor", "audio/barge_in"):
            self.node.create_subscription(String, topic, self._recorder(topic, json.loads), reliable)
        self.node.create_subscription(String, "dialogue/session", self._recorder("dialogue/session", json.loads),
                                      QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE,
                                                 durability=DurabilityPolicy.TRANSIENT_LOCAL))
        self.node.create_subscription(Bool, "audio/speaking", self._recorder("audio/speaking", bool), reliable)
        self.node.create_subscription(Bool, "ui/push_to_talk", self._recorder("ui/push_to_talk", bool), reliable)
        self.node.create_subscription(
            Bool, "speech/robot_speaking", self._recorder("speech/robot_speaking", bool), latched
        )
        self.node.create_subscription(String, "dialogue/session", self._recorder("dialogue/session", json.loads),
                                      latched)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, reliable)
        self.publishers: dict[str, object] = {}
        self._string = String
        self._executor = SingleThreadedExecutor(context=self.context)
        self._executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._running = True
        self._thread.start()

    def _spin(self) -> None:
        while self._running:
            try:
                self._executor.spin_once(timeout_sec=0.1)
            except Exception:  # context shut down while spinning
                return

    def _recorder(self, topic: str, convert: Callable) -> Callable:
        def record(msg) -> None:
            try:
                value = convert(msg.data)
            except ValueError:  # garbage on a kiosk topic (tests/test_fuzz.py): counted, not recorded
                self.unreadable += 1
                return
            with self._lock:
                self.messages.setdefault(topic, []).append(value)

        return record

    def _on_diag(self, msg) -> None:
        with self._lock:
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                self.diagnostics[status.name] = {"level": int.from_bytes(status.level, "little")
                                                 if isinstance(status.level, bytes) else int(status.level),
                                                 "message": status.message, "values": values}

    def subscribe(self, topic: str, msg_type, convert: Callable, latched: bool = False,
                  best_effort: bool = False) -> None:
        """Also record ``topic`` (any message type), each message through ``convert``."""
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

        reliability = ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE
        qos = QoSProfile(depth=1 if latched else 200, reliability=reliability,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)

        def record(msg) -> None:
            with self._lock:
                self.messages.setdefault(topic, []).append(convert(msg))

        self.node.create_subscription(msg_type, topic, record, qos)

    def publisher(self, topic: str, msg_type, latched: bool = False):
        """A publisher of any message type (latched: reliable + transient_local, like the e-stop)."""
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

        qos = QoSProfile(depth=1 if latched else 10, reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)
        return self.node.create_publisher(msg_type, topic, qos)

    def publish(self, topic: str, data: str) -> None:
        if topic not in self.publishers:
            self.publishers[topic] = self.node.create_publisher(self._string, topic, 10)
            time.sleep(0.5)  # let discovery match the new publisher
        self.publishers[topic].publish(self._string(data=data))

    def get(self, topic: str) -> list:
        with self._lock:
            return list(self.messages.get(topic, []))

    def wait_for(self, predicate: Callable[[], object], timeout_s: float, what: str) -> object:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; "
                             f"diagnostics: {json.dumps(self.diagnostics, ensure_ascii=False)[:3000]}")

    def close(self) -> None:
        self._running = False
        self._thread.join(timeout=2.0)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)


def _merge(into: dict, overrides: dict) -> None:
    """Deep-merge parameter overrides (nested groups such as ``speaker`` keep their other keys)."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


class Kiosk:
    """The kiosk started by its own bringup, with test parameters layered over config/kiosk.yaml."""

    def __init__(self, tmp: Path, namespace: str, nodes: str = "", overrides: dict | None = None,
                 extra_args: tuple[str, ...] | list[str] = (), params_suffix: str = "",
                 dashboard: bool = False, dashboard_namespace: str = "center") -> None:
        """``dashboard``: also start the center's dashboard (it is also started when ``nodes`` names it)."""
        self.tmp = tmp
        self.namespace = namespace
        self.mic_dir = tmp / "sim_mic"
        self.tts_dir = tmp / "tts_out"
        self.mic_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.dashboard_port = free_port()
        params = {
            "microphone": {"source": "wav", "wav_path": str(self.mic_dir), "wav_speed": 2.0},
            "tts": {"speaker": {"mode": "wav", "wav_dir": str(self.tts_dir), "realtime": False}},
            "ui": {"port": self.port},
            "dashboard": {"port": self.dashboard_port, "storage": {"db_path": str(tmp / "dashboard.db")},
                          "kb": {"history_dir": str(tmp / "kb_history")}},
            "camera": {"source": "off"},  # tests that need a camera say which
            "motion": {"estop_state_path": str(tmp / "estop.json")},
        }
        _merge(params, overrides or {})
        self.params_file = tmp / "test_params.yaml"
        self.params_text = yaml.safe_dump(
            {f"/**/{node}": {"ros__parameters": values} for node, values in params.items()}, allow_unicode=True)
        self.params_file.write_text(self.params_text + params_suffix)  # suffix: raw YAML, e.g. a broken one
        cmd = [str(VENV_BIN / "kiosk_bringup"), "--root", str(REPO), "--namespace", namespace,
               "--params-file", str(self.params_file), "--log-level", "info"]
        if nodes:
            cmd += ["--nodes", nodes]
        if not dashboard and "dashboard" not in nodes.split(","):
            cmd.append("--no-dashboard")
        cmd += ["--dashboard-namespace", dashboard_namespace, *extra_args]
        self.log_path = tmp / "bringup.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(cmd, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=dict(os.environ))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def speak(self, text: str, name: str) -> Path:
        """Say a sentence into the simulated microphone."""
        tmp_dir = self.tmp / "tts_gen"
        tmp_dir.mkdir(exist_ok=True)
        wav = espeak_wav(text, tmp_dir / f"{name}.wav")
        target = self.mic_dir / wav.name
        shutil.move(wav, target)
        return target

    def log_tail(self, chars: int = 4000) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def pids(self, name: str) -> list[int]:
        """Process ids the bringup started for node ``name``, oldest first."""
        return [int(p) for p in re.findall(rf"started {name} \(pid (\d+)\)", self.log_tail(10**7))]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


def peak_rss_mb(pid: int) -> int:
    """Peak resident memory (VmHWM) of a process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) // 1024


def node_active(recorder: TopicRecorder, namespace: str, area_node: str) -> bool:
    status = recorder.diagnostics.get(f"/{namespace}/{area_node}")
    return bool(status and status["values"].get("lifecycle_state") == "active")
