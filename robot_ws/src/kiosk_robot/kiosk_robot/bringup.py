"""kiosk_bringup: start the kiosk's nodes as processes, like launch/kiosk.launch.py does.

The pip-installed ROS 2 has no ``ros2 launch``; this supervisor starts the same executables with
the same parameter files, namespace and log level, restarts a node that dies (with a growing
delay), and on Ctrl-C / SIGTERM stops every node cleanly (SIGINT, then SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KIOSK_NODES", "NodeSpec", "Supervisor", "main"]

log = logging.getLogger("kiosk_bringup")


@dataclass(frozen=True)
class NodeSpec:
    """A node process: its name, console executable and parameter files (relative to the repo root).

    ``hosts`` names the nodes of a process that runs several (their own names are kept: no
    ``__node`` remapping); empty for the usual one-node process named ``name``.
    """

    name: str
    executable: str
    params_files: tuple[str, ...]
    hosts: tuple[str, ...] = ()


# Keep in step with KIOSK_NODES in launch/kiosk.launch.py (tests/test_launch.py checks it).
KIOSK_NODES: tuple[NodeSpec, ...] = (
    NodeSpec("microphone", "microphone_node", ("config/kiosk.yaml",)),
    NodeSpec("asr", "asr_node", ("config/kiosk.yaml",)),
    NodeSpec("dialogue", "dialogue_node", ("config/kiosk.yaml",)),
    NodeSpec("tts", "tts_node", ("config/kiosk.yaml",)),
    NodeSpec("ui", "ui_node", ("config/kiosk.yaml",)),
    NodeSpec("perception", "perception_node", ("config/kiosk.yaml",), hosts=("camera", "engagement")),
    NodeSpec("motion", "motion_node", ("config/kiosk.yaml",)),
    NodeSpec("base", "base_node", ("config/kiosk.yaml",)),
)


@dataclass
class _Running:
    spec: NodeSpec
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start_s: float = 0.0
    started_s: float = field(default_factory=time.monotonic)


class Supervisor:
    """Start, watch and stop a set of node processes."""

    def __init__(
        self,
        nodes: tuple[NodeSpec, ...],
        root: Path,
        namespace: str = "kiosk",
        extra_params_files: tuple[Path, ...] = (),
        log_level: str = "info",
        respawn: bool = True,
        respawn_delay_s: float = 2.0,
        max_respawn_delay_s: float = 30.0,
    ) -> None:
        self.root = root
        self.namespace = "/" + namespace.strip("/") if namespace.strip("/") else "/"
        self.extra_params_files = extra_params_files
        self.log_level = log_level
        self.respawn = respawn
        self.respawn_delay_s = respawn_delay_s
        self.max_respawn_delay_s = max_respawn_delay_s
        self._nodes = [_Running(spec) for spec in nodes]
        self._stopping = False
        self.env = dict(os.environ, KIOSK_ROOT=str(root), PYTHONUNBUFFERED="1")

    def command(self, spec: NodeSpec) -> list[str]:
        executable = Path(sys.executable).parent / spec.executable
        if not executable.exists():
            raise FileNotFoundError(
                f"node executable '{executable}' not found. Fix: run scripts/setup.sh "
                "(installs robot_ws/src/kiosk_robot into .venv)"
            )
        rename = [] if spec.hosts else ["-r", f"__node:={spec.name}"]
        cmd = [str(executable), "--ros-args", *rename, "-r", f"__ns:={self.namespace}"]
        for params in (*(self.root / p for p in spec.params_files), *self.extra_params_files):
            if not Path(params).is_file():
                raise FileNotFoundError(f"parameter file '{params}' not found")
            cmd += ["--params-file", str(params)]
        return [*cmd, "--log-level", self.log_level]

    def start(self) -> None:
        for running in self._nodes:
            self._spawn(running)

    def _spawn(self, running: _Running) -> None:
        # Own process group: a terminal Ctrl-C reaches only the bringup, which then stops each
        # node once; and a node dies with the bringup even if the bringup is killed.
        running.process = subprocess.Popen(self.command(running.spec), cwd=self.root, env=self.env,
                                           process_group=0, preexec_fn=_die_with_parent)
        running.started_s = time.monotonic()
        log.info("started %s (pid %d)", running.spec.name, running.process.pid)

    def poll(self) -> None:
        """Restart nodes that died; call this periodically."""
        now = time.monotonic()
        for running in self._nodes:
            proc = running.process
            if proc is None:
                if not self._stopping and now >= running.next_start_s:
                    self._spawn(running)
                continue
            code = proc.poll()
            if code is None or self._stopping:
                continue
            running.process = None
            if not self.respawn:
                log.error("%s exited with code %s (respawn off)", running.spec.name, code)
                continue
            if now - running.started_s > 60.0:
                running.restarts = 0  # it ran fine for a while: start the back-off again
            delay = min(self.max_respawn_delay_s, self.respawn_delay_s * 2**running.restarts)
            running.restarts += 1
            running.next_start_s = now + delay
            log.error("%s exited with code %s; restarting in %.0f s", running.spec.name, code, delay)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGINT every node, then SIGTERM, then SIGKILL those that do not exit."""
        self._stopping = True
        alive = [r.process for r in self._nodes if r.process is not None and r.process.poll() is None]
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            for proc in alive:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)
            deadline = time.monotonic() + (timeout_s if sig != signal.SIGKILL else 5.0)
            while alive and time.monotonic() < deadline:
                alive = [p for p in alive if p.poll() is None]
                time.sleep(0.1)
            if not alive:
                break
            log.warning("%d node(s) did not stop after %s", len(alive), sig.name)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the bringup dies (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("KIOSK_ROOT", os.getcwd())),
                        help="repository root (models/, config/, var/)")
    parser.add_argument("--namespace", default="kiosk")
    parser.add_argument("--params-file", type=Path, action="append", default=[],
                        help="extra parameter file, applied after config/kiosk.yaml (repeatable)")
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warn", "error"))
    parser.add_argument("--nodes", default="", help="comma-separated subset of node names")
    parser.add_argument("--no-respawn", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[kiosk_bringup] %(message)s")

    wanted = {n for n in args.nodes.split(",") if n}
    unknown = wanted - {s.name for s in KIOSK_NODES}
    if unknown:
        parser.error(f"unknown node(s) {sorted(unknown)}; known: {[s.name for s in KIOSK_NODES]}")
    nodes = tuple(s for s in KIOSK_NODES if not wanted or s.name in wanted)
    supervisor = Supervisor(nodes, args.root.resolve(), args.namespace,
                            tuple(p.resolve() for p in args.params_file), args.log_level,
                            respawn=not args.no_respawn)
    stop = {"requested": False}

    def _request_stop(signum, frame):
        stop["requested"] = True

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    try:
        supervisor.start()
    except FileNotFoundError as exc:
        log.error("%s", exc)
        supervisor.stop()
        return 1
    log.info("kiosk running in namespace %s; press Ctrl-C to stop", supervisor.namespace)
    while not stop["requested"]:
        supervisor.poll()
        time.sleep(0.2)
    log.info("stopping ...")
    supervisor.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
