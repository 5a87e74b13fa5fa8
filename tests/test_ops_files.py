"""Operations tools without ROS nodes: doctor, systemd unit, lock file, progress bars."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk_robot.systemd import render

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _doctor(*args: str, env: dict | None = None) -> tuple[int, dict]:
    import os

    result = subprocess.run([str(VENV_BIN / "kiosk_doctor"), "--root", str(REPO), "--json", *args], cwd=REPO,
                            capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})
    return result.returncode, json.loads(result.stdout)


def _by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_doctor_checks_this_machine_and_verifies_model_checksums():
    code, report = _doctor("--skip", "camera", env={"ROS_DOMAIN_ID": "7"})
    checks = _by_name(report)
    assert checks["asr model"]["level"] == "OK" and "published sha256" in checks["asr model"]["message"]
    assert checks["dialogue model"]["level"] == "OK"
    assert checks["parameters"]["level"] == "OK"
    assert checks["dds domain"]["level"] == "OK"
    for name in ("audio", "vad model", "port ui.port", "disk", "memory", "time zone"):
        assert name in checks, name
    assert all(c["fix"] for c in report["checks"] if c["level"] != "OK"), "every problem needs a fix"
    worst = max({"OK": 0, "WARN": 1, "ERROR": 2}[c["level"]] for c in report["checks"])
    assert code == report["exit_code"] == worst


def test_doctor_finds_corrupt_models_busy_ports_and_a_bad_domain(tmp_path):
    model = tmp_path / "whisper-base"
    model.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(REPO / "models" / "whisper-base" / name, model / name)
    (model / "model.bin").write_bytes(b"not a model")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        site = tmp_path / "site.yaml"
        site.write_text(f"/**/asr:\n  ros__parameters:\n    model_path: {model}\n"
                        f"/**/ui:\n  ros__parameters:\n    port: {port}\n")
        code, report = _doctor("--only", "models,ports,dds", "--params-file", str(site),
                               env={"ROS_DOMAIN_ID": "abc"})
    checks = _by_name(report)
    assert code == 2
    assert checks["asr model"]["level"] == "ERROR" and "model.bin" in checks["asr model"]["message"]
    assert "setup.sh" in checks["asr model"]["fix"]
    port_check = checks["port ui.port"]
    assert port_check["level"] == "ERROR" and str(port) in port_check["message"] and "python" in port_check["message"]
    assert "ui.port" in port_check["fix"]
    assert checks["dds domain"]["level"] == "ERROR"


def test_systemd_unit_is_valid_and_restarts_except_on_config_errors(tmp_path):
    files = render(REPO, user="root", namespace="kiosk7", domain_id=7, etc=tmp_path / "etc")
    unit = files["kiosk-robot.service"]
    sections: dict[str, dict[str, list[str]]] = {}
    current = ""
    for line in unit.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        elif "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            sections.setdefault(current, {}).setdefault(key, []).append(value)
    service = sections["Service"]
    assert service["Restart"] == ["on-failure"] and service["RestartPreventExitStatus"] == ["78"]
    assert service["KillSignal"] == ["SIGINT"]
    assert service["LimitNOFILE"] == ["65536"], "1,000 page clients need more than systemd's 1024 open files"
    assert "ROS_DOMAIN_ID=7" in service["Environment"]
    assert service["ExecStart"][0].startswith(f"{REPO}/.venv/bin/kiosk_bringup ")
    assert "--namespace kiosk7" in service["ExecStart"][0]
    assert "ExecStartPre" not in service, "a failing pre-check would be restarted by Restart=on-failure"
    assert sections["Install"]["WantedBy"] == ["multi-user.target"]
    journal = files["journald-kiosk-robot.conf"]
    assert "SystemMaxUse=" in journal and "MaxRetentionSec=30day" in journal
    path = tmp_path / "kiosk-robot.service"
    path.write_text(unit)
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed: keys checked above")
    result = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "Unknown" not in result.stderr, result.stderr
    broken = tmp_path / "broken.service"
    broken.write_text(unit.replace("kiosk_bringup", "kiosk_bringup_missing"))
    assert subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True).returncode != 0
    subprocess.run(["bash", "-n", "/dev/stdin"], input=files["install.sh"], text=True, check=True)


def test_lock_file_matches_requirements_and_pins_everything_with_hashes():
    import hashlib

    lock = (REPO / "requirements.lock").read_text()
    first = lock.splitlines()[0]
    sha = hashlib.sha256((REPO / "requirements.txt").read_bytes()).hexdigest()
    assert first.startswith(f"# requirements.txt sha256: {sha}"), (
        "requirements.lock is stale. Fix: run scripts/lock_requirements.sh and commit requirements.lock")
    pins = [line for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert pins and all("==" in p and p.rstrip().endswith("\\") for p in pins), pins[:3]
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name = line.split("#")[0].strip()
        if name:
            base = name.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower().replace("_", "-")
            assert any(p.lower().startswith(base + "==") for p in pins), f"{base} is not pinned"


def test_progress_bars_show_on_a_terminal_and_stay_quiet_otherwise(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("assemble_models", REPO / "scripts" / "assemble_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = tmp_path / "blob.bin"
    data.write_bytes(b"x" * (3 << 20))

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        module._sha256(data, "checking blob")
        assert ("checking blob:" in stream.getvalue() and "%|" in stream.getvalue()) is shown
