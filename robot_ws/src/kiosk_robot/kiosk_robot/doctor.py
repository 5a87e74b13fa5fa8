"""kiosk_doctor: check this device before (or while) it runs the kiosk, with a fix for each problem.

Checks the parameter files, audio devices and their sample rates, cameras, the models and the
voice (with checksums), the ports the nodes will listen on, the DDS domain and discovery range,
disk, memory and the clock. Exit code like a monitoring plugin: 0 all OK, 1 warnings, 2 errors.
``--json`` prints the checks for scripts.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .param_files import check_files, effective_values
from .registry import node_infos

OK, WARN, ERROR = "OK", "WARN", "ERROR"
EXIT_CODES = {OK: 0, WARN: 1, ERROR: 2}
KIOSK_MEMORY_MB = 1000  # peak RSS of all kiosk nodes together (README figures), rounded up
MIN_FREE_DISK_GB, LOW_FREE_DISK_GB = 1.0, 5.0


@dataclass
class Check:
    name: str
    level: str
    message: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Doctor:
    def __init__(self, root: Path, files: list[Path], namespace: str) -> None:
        self.root = root
        self.files = files
        self.namespace = namespace
        self.nodes = node_infos()
        self.values = effective_values(files, self.nodes, namespace)

    def path(self, node: str, param: str) -> Path | None:
        value = self.values.get(node, {}).get(param, "")
        if not value:
            return None
        path = Path(os.path.expanduser(str(value)))
        return path if path.is_absolute() else self.root / path

    # ---- checks --------------------------------------------------------------------------------
    def params(self) -> list[Check]:
        problems = check_files(self.files, self.nodes, self.namespace, repo_root=self.root)
        errors = [p for p in problems if p.level == "error"]
        if not problems:
            return [Check("parameters", OK, f"{len(self.files)} parameter file(s) valid for {len(self.nodes)} nodes")]
        level = ERROR if errors else WARN
        return [Check("parameters", level, f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s): "
                      + "; ".join(p.text() for p in problems[:5]),
                      "correct the lines named (kiosk_check_params " + " ".join(map(str, self.files)) + ")")]

    def audio(self) -> list[Check]:
        from speech.devices import no_sound_card_reason

        reason = no_sound_card_reason()
        if reason:
            fix = ("plug in a USB microphone and speaker, check `arecord -l` / `aplay -l`; until then the kiosk "
                   "uses the simulated microphone (var/sim_mic) and writes replies to var/tts_out")
            return [Check("audio", WARN, reason, fix)]
        import pyaudio

        pa = pyaudio.PyAudio()
        try:
            inputs, outputs = [], []
            for i in range(pa.get_device_count()):
                info = pa.get_device_info_by_index(i)
                entry = {"index": i, "name": info["name"], "default_rate_hz": int(info["defaultSampleRate"])}
                if info["maxInputChannels"] > 0:
                    with contextlib.suppress(ValueError):
                        entry["supports_16000_hz"] = bool(pa.is_format_supported(
                            16000, input_device=i, input_channels=1, input_format=pyaudio.paFloat32))
                    inputs.append(entry)
                if info["maxOutputChannels"] > 0:
                    outputs.append(entry)
        finally:
            pa.terminate()
        checks = []
        for kind, devices, node, param in (("microphone", inputs, "microphone", "device_name_contains"),
                                            ("speaker", outputs, "tts", "speaker.device_name_contains")):
            wanted = str(self.values.get(node, {}).get(param, ""))
            chosen = [d for d in devices if wanted.lower() in str(d["name"]).lower()]
            if not chosen:
                checks.append(Check(kind, WARN if kind == "speaker" else ERROR,
                                    f"no {kind} device" + (f" whose name contains '{wanted}'" if wanted else ""),
                                    f"plug one in, or set {node}.{param} to part of a name in: "
                                    + ", ".join(d["name"] for d in devices), {"devices": devices}))
            else:
                d = chosen[0]
                checks.append(Check(kind, OK, f"'{d['name']}' at {d['default_rate_hz']} Hz (resampled to 16 kHz)",
                                    details={"devices": devices}))
        return checks

    def camera(self) -> list[Check]:
        devices = sorted(glob.glob("/dev/video*"))
        if not devices:
            return [Check("camera", WARN, "no camera (/dev/video* missing)",
                          "plug in the USB camera and check `v4l2-ctl --list-devices`; until then the kiosk "
                          "starts visits on the first question instead of on a visitor's approach")]
        import cv2

        found = []
        for device in devices[:4]:
            result: dict[str, Any] = {}

            def probe(path: str = device, out: dict = result) -> None:
                cap = cv2.VideoCapture(path)
                ok, frame = cap.read() if cap.isOpened() else (False, None)
                out["ok"] = bool(ok)
                out["size"] = list(frame.shape[1::-1]) if ok else None
                cap.release()

            thread = threading.Thread(target=probe, daemon=True)
            thread.start()
            thread.join(timeout=3.0)
            found.append({"device": device, **result})
        working = [f for f in found if f.get("ok")]
        if working:
            return [Check("camera", OK, f"{working[0]['device']} gives {working[0]['size']} frames",
                          details={"devices": found})]
        return [Check("camera", ERROR, f"{', '.join(devices)} present but no frame could be read",
                      "check the cable and that no other program holds the camera (`fuser /dev/video0`); "
                      "add the kiosk user to the video group", {"devices": found})]

    def models(self) -> list[Check]:
        return [self._whisper(), self._dialogue_model(), *self._voice(), self._vad()]

    def _whisper(self) -> Check:
        folder = self.path("asr", "model_path") or self.root / "models" / "whisper-base"
        model = folder / "model.bin"
        if not model.is_file():
            return Check("asr model", ERROR, f"{model} missing",
                         "run scripts/setup.sh (assembles the base model), or set asr.model_path to a CTranslate2 "
                         "Whisper folder")
        published = _assemble_models(self.root).WHISPER_SHA256
        if folder.name == "whisper-base":
            bad = [name for name, sha in published.items() if not (folder / name).is_file()
                   or _sha256(folder / name) != sha]
            if bad:
                return Check("asr model", ERROR, f"{', '.join(bad)} in {folder} do not match the published sha256",
                             f"rm -r {folder} && scripts/setup.sh (re-assembles and verifies it)")
            return Check("asr model", OK, f"faster-whisper base in {folder}: 4 files match the published sha256")
        missing = [n for n in ("config.json", "tokenizer.json") if not (folder / n).is_file()]
        if missing:
            return Check("asr model", ERROR, f"{folder} lacks {', '.join(missing)}",
                         "convert the model with ct2-transformers-converter --copy_files tokenizer.json")
        return Check("asr model", OK, f"custom model in {folder}", details={"model.bin sha256": _sha256(model)})

    def _dialogue_model(self) -> Check:
        folder = self.path("dialogue", "model_dir") or self.root / "models" / "dialogue"
        model, meta = folder / "dialogue.onnx", folder / "meta.json"
        if not model.is_file() or not meta.is_file():
            return Check("dialogue model", ERROR, f"{model} or {meta} missing",
                         "run scripts/setup.sh (or python -m dialogue train)")
        try:
            expected = json.loads(meta.read_text(encoding="utf-8"))["model_sha256"]
        except (ValueError, KeyError) as exc:
            return Check("dialogue model", ERROR, f"{meta} unreadable ({exc})", "python -m dialogue train")
        actual = _sha256(model)
        if actual != expected:
            return Check("dialogue model", ERROR, f"{model} sha256 {actual[:12]}… does not match meta.json",
                         "python -m dialogue train (writes model and meta together)")
        return Check("dialogue model", OK, f"{model} matches its meta.json sha256", details={"sha256": actual})

    def _voice(self) -> list[Check]:
        voice = self.path("tts", "voice_model_path")
        checks = []
        if shutil.which("espeak-ng") is None:
            checks.append(Check("espeak-ng", ERROR, "espeak-ng not installed", "sudo apt-get install espeak-ng"))
        if voice is None or not voice.is_file():
            checks.append(Check("piper voice", WARN, f"no Piper voice at {voice}: the kiosk speaks with espeak-ng",
                                "copy vi_VN-vais1000-medium.onnx and .onnx.json into models/piper-vi/ "
                                "(README, technicians)"))
            return checks
        config = self.path("tts", "voice_config_path") or Path(f"{voice}.json")
        try:
            json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            checks.append(Check("piper voice", ERROR, f"voice config {config} unreadable ({exc})",
                                "copy the .onnx.json that belongs to the voice beside it"))
            return checks
        checks.append(Check("piper voice", OK, f"{voice.name} with its config", details={"sha256": _sha256(voice)}))
        return checks

    def _vad(self) -> Check:
        spec = importlib.util.find_spec("faster_whisper")
        path = Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx" if spec and spec.origin else None
        if path is None or not path.is_file():
            return Check("vad model", ERROR, "Silero VAD model missing from faster-whisper",
                         ".venv/bin/pip install --force-reinstall faster-whisper==1.2.1")
        return Check("vad model", OK, f"{path.name} present")

    def ports(self) -> list[Check]:
        checks = []
        for node, values in self.values.items():
            for name, port in values.items():
                if not (name == "port" or name.endswith((".port", "_port"))) or not isinstance(port, int):
                    continue
                host = str(values.get(name[: -len("port")] + "host", "127.0.0.1")) or "127.0.0.1"
                owner = _port_owner(port)
                try:
                    with socket.socket() as sock:
                        sock.bind((host, port))
                except OSError as exc:
                    who = f" by pid {owner[0]} ({owner[1]})" if owner else ""
                    checks.append(Check(f"port {node}.{name}", ERROR, f"{host}:{port} is in use{who} ({exc.strerror})",
                                        f"stop that process (the kiosk itself, if it is running), or set "
                                        f"{node}.{name} to a free port in a site parameter file"))
                else:
                    checks.append(Check(f"port {node}.{name}", OK, f"{host}:{port} is free"))
        return checks

    def dds(self) -> list[Check]:
        checks = []
        domain = os.environ.get("ROS_DOMAIN_ID", "")
        if not domain:
            checks.append(Check("dds domain", WARN, "ROS_DOMAIN_ID not set: domain 0, shared with any ROS 2 "
                                "device on the network", "give each center its own domain: Environment="
                                "ROS_DOMAIN_ID=<1..101> in the systemd unit (kiosk_systemd --domain-id N)"))
        elif not domain.isdigit() or int(domain) > 232:
            checks.append(Check("dds domain", ERROR, f"ROS_DOMAIN_ID={domain} is not a domain id (0..232)",
                                "set ROS_DOMAIN_ID to a number from 1 to 101"))
        elif int(domain) > 101:
            checks.append(Check("dds domain", WARN, f"ROS_DOMAIN_ID={domain}: above 101 its ports can collide with "
                                "Linux ephemeral ports", "use 1..101"))
        else:
            checks.append(Check("dds domain", OK, f"ROS_DOMAIN_ID={domain}"))
        scope = os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE", "")
        notes = {"": (OK, "discovery range SUBNET (default): the center's network segment"),
                 "SUBNET": (OK, "discovery range SUBNET: the center's network segment"),
                 "LOCALHOST": (OK, "discovery range LOCALHOST: nodes of this device only"),
                 "SYSTEM_DEFAULT": (OK, "discovery range SYSTEM_DEFAULT (the RMW's own setting)"),
                 "OFF": (ERROR, "discovery OFF: the kiosk's nodes cannot find each other")}
        level, message = notes.get(scope.upper(), (ERROR, f"ROS_AUTOMATIC_DISCOVERY_RANGE={scope} is not a range"))
        checks.append(Check("dds discovery", level, message,
                            "" if level == OK else "set ROS_AUTOMATIC_DISCOVERY_RANGE to LOCALHOST or SUBNET"))
        if os.environ.get("ROS_LOCALHOST_ONLY"):
            checks.append(Check("dds localhost only", WARN, "ROS_LOCALHOST_ONLY is deprecated",
                                "use ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST instead"))
        return checks

    def resources(self) -> list[Check]:
        usage = shutil.disk_usage(self.root)
        free_gb = usage.free / 1e9
        level = ERROR if free_gb < MIN_FREE_DISK_GB else WARN if free_gb < LOW_FREE_DISK_GB else OK
        checks = [Check("disk", level, f"{free_gb:.1f} GB free on {self.root}",
                        "" if level == OK else "free space: old logs (journalctl --vacuum-time=30d), var/tts_out")]
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        available_mb = int(meminfo["MemAvailable"].split()[0]) / 1024
        level = ERROR if available_mb < KIOSK_MEMORY_MB else WARN if available_mb < 2 * KIOSK_MEMORY_MB else OK
        checks.append(Check("memory", level, f"{available_mb:.0f} MB available; the kiosk needs about "
                            f"{KIOSK_MEMORY_MB} MB", "" if level == OK else "close other programs, or use a device "
                            "with at least 4 GB"))
        return checks

    def clock(self) -> list[Check]:
        now = time.time()
        checks = []
        if time.gmtime(now).tm_year < 2025:
            checks.append(Check("clock", ERROR, f"the clock says {time.strftime('%Y-%m-%d')}",
                                "set the time (timedatectl set-time, or enable NTP: timedatectl set-ntp true)"))
        synced = _timedatectl("NTPSynchronized")
        if synced == "yes":
            checks.append(Check("clock sync", OK, "NTP synchronized"))
        else:
            checks.append(Check("clock sync", WARN, "NTP not synchronized" if synced else "cannot tell whether the "
                                "clock is synchronized (no timedatectl)", "timedatectl set-ntp true (the staff "
                                "dashboard orders events by time)"))
        offset_h = time.localtime(now).tm_gmtoff / 3600
        checks.append(Check("time zone", OK if offset_h == 7 else WARN, f"UTC{offset_h:+g}",
                            "" if offset_h == 7 else "timedatectl set-timezone Asia/Ho_Chi_Minh"))
        return checks


CHECKS: dict[str, Callable[[Doctor], list[Check]]] = {
    "params": Doctor.params, "audio": Doctor.audio, "camera": Doctor.camera, "models": Doctor.models,
    "ports": Doctor.ports, "dds": Doctor.dds, "resources": Doctor.resources, "clock": Doctor.clock,
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _assemble_models(root: Path):
    """scripts/assemble_models.py as a module: its published checksums are the reference."""
    spec = importlib.util.spec_from_file_location("kiosk_assemble_models", root / "scripts" / "assemble_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _timedatectl(prop: str) -> str:
    if shutil.which("timedatectl") is None:
        return ""
    try:
        result = subprocess.run(["timedatectl", "show", "-p", prop, "--value"], capture_output=True, text=True,
                                timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _port_owner(port: int) -> tuple[int, str] | None:
    """(pid, name) of the process listening on ``port`` (from /proc), if it can be seen."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                    inodes.add(fields[9])
    for fd in glob.glob("/proc/[0-9]*/fd/*"):
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:[") and target[8:-1] in inodes:
                pid = int(fd.split("/")[2])
                return pid, Path(f"/proc/{pid}/comm").read_text().strip()
    return None


def run(doctor: Doctor, names: list[str]) -> list[Check]:
    results = []
    for name in names:
        try:
            results += CHECKS[name](doctor)
        except Exception as exc:  # a broken probe is itself a finding, not a crash
            results.append(Check(name, ERROR, f"the check failed: {exc!r}", "report this with the output above"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk_doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("KIOSK_ROOT", os.getcwd())))
    parser.add_argument("--params-file", type=Path, action="append", default=[],
                        help="site parameter file applied after config/kiosk.yaml (repeatable)")
    parser.add_argument("--namespace", default="kiosk")
    parser.add_argument("--only", default="", help="comma-separated checks: " + ",".join(CHECKS))
    parser.add_argument("--skip", default="", help="comma-separated checks to leave out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    names = [n for n in (args.only.split(",") if args.only else CHECKS) if n and n not in args.skip.split(",")]
    unknown = set(names) - set(CHECKS)
    if unknown:
        parser.error(f"unknown checks {sorted(unknown)}; known: {', '.join(CHECKS)}")
    doctor = Doctor(root, [root / "config" / "kiosk.yaml", *args.params_file], args.namespace)
    results = run(doctor, names)
    worst = max((EXIT_CODES[c.level] for c in results), default=0)
    if args.json:
        print(json.dumps({"root": str(root), "exit_code": worst, "checks": [asdict(c) for c in results]},
                         ensure_ascii=False, indent=2))
    else:
        for c in results:
            print(f"[{c.level:<5}] {c.name}: {c.message}" + (f"\n          Fix: {c.fix}" if c.fix else ""))
        print(f"kiosk_doctor: {sum(c.level == ERROR for c in results)} error(s), "
              f"{sum(c.level == WARN for c in results)} warning(s)")
    return worst


if __name__ == "__main__":
    sys.exit(main())
