"""kiosk_bringup: start the kiosk's nodes as processes, like the launch files in launch/ do.

The pip-installed ROS 2 has no ``ros2 launch``; this supervisor starts the same executables with
the same parameter files, namespace and log level, restarts a node that dies (with a growing
delay), and on Ctrl-C / SIGTERM stops every node cleanly (SIGINT, then SIGTERM, then SIGKILL).

Before it starts anything it checks the parameter files (``kiosk_check_params``): on an error it
starts nothing and exits with 78 (EX_CONFIG). A node that exits with 78 (a parameter file rcl
cannot parse) is not restarted until one of its parameter files changes. ``--profile`` picks the
nodes of one use (kiosk, speech, perception, sim, center, dashboard), like the launch file of that name.

The staff dashboard is one per center, not per kiosk: it runs in its own namespace
(``--dashboard-namespace``, default ``center``) and the bringup of every other kiosk of the center
passes ``--no-dashboard`` (or ``--nodes`` without it).
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

__all__ = ["ALL_NODES", "CENTER_NODES", "KIOSK_NODES", "PROFILES", "NodeSpec", "Supervisor", "main", "profile_nodes"]

CONFIG_ERROR_EXIT = 78  # kiosk_robot.params.CONFIG_ERROR_EXIT (not imported: the bringup stays light)

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
    per_center: bool = False  # one per center (the dashboard): started in the center's namespace
    hosts: tuple[str, ...] = ()  # the node names one process hosts (perception: camera, engagement)


# Keep in step with KIOSK_NODES, CENTER_NODES and PROFILES in launch/kiosk.launch.py
# (tests/test_launch.py checks it). KIOSK_NODES run once per kiosk (its namespace);
# CENTER_NODES once per center.
KIOSK_NODES: tuple[NodeSpec, ...] = (
    NodeSpec("microphone", "microphone_node", ("config/kiosk.yaml",)),
    NodeSpec("asr", "asr_node", ("config/kiosk.yaml",)),
    NodeSpec("dialogue", "dialogue_node", ("config/kiosk.yaml",)),
    NodeSpec("tts", "tts_node", ("config/kiosk.yaml",)),
    NodeSpec("ui", "ui_node", ("config/kiosk.yaml",)),
    NodeSpec("dashboard", "dashboard_node", ("config/kiosk.yaml",), per_center=True),
    NodeSpec("perception", "perception_node", ("config/kiosk.yaml",), hosts=("camera", "engagement")),
    NodeSpec("motion", "motion_node", ("config/kiosk.yaml",)),
    NodeSpec("base", "base_node", ("config/kiosk.yaml",)),
)
CENTER_NODES: tuple[NodeSpec, ...] = (
    NodeSpec("fleet_bridge", "fleet_bridge_node", ("config/kiosk.yaml",)),
)
ALL_NODES = KIOSK_NODES + CENTER_NODES

# Which nodes each use starts ("kiosk": every node in KIOSK_NODES) and the parameter files it
# adds after the nodes' own. A new node joins a use by adding its name to that use's list.
PROFILES: dict[str, dict] = {
    "kiosk": {"nodes": "KIOSK_NODES", "params_files": []},
    "speech": {"nodes": ["microphone", "asr", "dialogue", "tts"], "params_files": []},
    "perception": {"nodes": ["perception", "motion", "base"], "params_files": []},  # the robot's presence
    "sim": {"nodes": "KIOSK_NODES", "params_files": ["config/sim.yaml"]},
    "center": {"nodes": "CENTER_NODES", "params_files": []},
    "dashboard": {"nodes": ["dashboard"], "params_files": []},
}


def profile_nodes(profile: str) -> tuple[NodeSpec, ...]:
    """The nodes a profile starts, in KIOSK_NODES / CENTER_NODES order."""
    names = PROFILES[profile]["nodes"]
    if names == "KIOSK_NODES":
        return KIOSK_NODES
    if names == "CENTER_NODES":
        return CENTER_NODES
    return tuple(s for s in ALL_NODES if s.name in names)


@dataclass
class _Running:
    spec: NodeSpec
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start_s: float = 0.0
    started_s: float = field(default_factory=time.monotonic)
    held_on: tuple | None = None  # parameter files' (path, mtime) when it exited with a config error


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
        center_namespace: str = "center",
    ) -> None:
        self.root = root
        self.namespace = "/" + namespace.strip("/") if namespace.strip("/") else "/"
        self.center_namespace = "/" + center_namespace.strip("/") if center_namespace.strip("/") else "/"
        self.extra_params_files = extra_params_files
        self.log_level = log_level
        self.respawn = respawn
        self.respawn_delay_s = respawn_delay_s
        self.max_respawn_delay_s = max_respawn_delay_s
        self._nodes = [_Running(spec) for spec in nodes]
        self._stopping = False
        self.env = dict(os.environ, KIOSK_ROOT=str(root), PYTHONUNBUFFERED="1")

    def params_files(self, spec: NodeSpec) -> list[Path]:
        return [*(self.root / p for p in spec.params_files), *self.extra_params_files]

    def check_params(self) -> int:
        """Run kiosk_check_params on every node's files; its exit code (0 fine, 78 errors)."""
        files: list[Path] = []
        for running in self._nodes:
            files += [f for f in self.params_files(running.spec) if f not in files]
        cmd = [str(Path(sys.executable).parent / "kiosk_check_params"), "--root", str(self.root),
               "--namespace", self.namespace, *map(str, files)]
        return subprocess.run(cmd, cwd=self.root, env=self.env).returncode

    def _files_signature(self, spec: NodeSpec) -> tuple:
        return tuple((str(f), f.stat().st_mtime_ns if f.exists() else 0) for f in self.params_files(spec))

    def command(self, spec: NodeSpec) -> list[str]:
        executable = Path(sys.executable).parent / spec.executable
        if not executable.exists():
            raise FileNotFoundError(
                f"node executable '{executable}' not found. Fix: run scripts/setup.sh "
                "(installs robot_ws/src/kiosk_robot into .venv)"
            )
        namespace = self.center_namespace if spec.per_center else self.namespace
        rename = [] if spec.hosts else ["-r", f"__node:={spec.name}"]
        cmd = [str(executable), "--ros-args", *rename, "-r", f"__ns:={namespace}"]
        for params in self.params_files(spec):
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
                if running.held_on is not None:
                    if self._stopping or self._files_signature(running.spec) == running.held_on:
                        continue
                    log.info("%s: a parameter file changed; starting it again", running.spec.name)
                    running.held_on = None
                if not self._stopping and now >= running.next_start_s:
                    self._spawn(running)
                continue
            code = proc.poll()
            if code is None or self._stopping:
                continue
            running.process = None
            if code == CONFIG_ERROR_EXIT:
                running.held_on = self._files_signature(running.spec)
                log.error("%s cannot start: configuration error (exit %d); not restarting it until one of its "
                          "parameter files changes. Fix: kiosk_check_params %s", running.spec.name, code,
                          " ".join(map(str, self.params_files(running.spec))))
                continue
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
    parser.add_argument("--profile", default="kiosk", choices=tuple(PROFILES),
                        help="which use to start, like launch/<profile>.launch.py (default: kiosk)")
    parser.add_argument("--nodes", default="", help="comma-separated subset of the profile's node names")
    parser.add_argument("--no-respawn", action="store_true")
    parser.add_argument("--check", action="store_true", help="only check the parameter files, start nothing")
    parser.add_argument("--skip-check", action="store_true",
                        help="start without checking the parameter files first (to test the nodes' own checks)")
    parser.add_argument("--no-dashboard", action="store_true",
                        help="do not start the staff dashboard (one per center: only one kiosk's bringup starts it)")
    parser.add_argument("--dashboard-namespace", default="center", help="namespace of the center's dashboard")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[kiosk_bringup] %(message)s")

    available = profile_nodes(args.profile)
    wanted = {n for n in args.nodes.split(",") if n}
    unknown = wanted - {s.name for s in available}
    if unknown:
        parser.error(f"unknown node(s) {sorted(unknown)} in profile {args.profile}; "
                     f"known: {[s.name for s in available]}")
    nodes = tuple(s for s in available if (not wanted or s.name in wanted)
                  and not (args.no_dashboard and s.per_center))
    if not nodes:
        parser.error(f"profile '{args.profile}' has no nodes in this build")
    profile_files = tuple(args.root.resolve() / f for f in PROFILES[args.profile]["params_files"])
    supervisor = Supervisor(nodes, args.root.resolve(), args.namespace,
                            (*profile_files, *(p.resolve() for p in args.params_file)), args.log_level,
                            respawn=not args.no_respawn, center_namespace=args.dashboard_namespace)
    if args.check or not args.skip_check:
        code = supervisor.check_params()
        if code != 0:
            log.error("parameter files have errors (above): nothing started. Fix them, or check again with "
                      "kiosk_bringup --check")
            return CONFIG_ERROR_EXIT
        if args.check:
            return 0
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
