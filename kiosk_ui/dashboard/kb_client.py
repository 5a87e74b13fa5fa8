"""Knowledge-base editing through the dialogue's own command line, never its Python internals.

Reading a record is reading its YAML file; checking, saving, adding an example and training
are ``python -m dialogue validate --candidate / save-record / add-example / train --progress``
subprocesses, so the dashboard and the dialogue stay replaceable on their own. Training runs in
a background thread, one at a time; when it succeeds the running dialogue nodes are asked to
reload (their ``~/reload`` service); when it fails the last good model stays in place.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kiosk_ui.dashboard.settings import DashboardSettings

__all__ = ["KbClient", "KbClientError", "TrainJob"]

_LOG = logging.getLogger("kiosk_ui.dashboard.kb")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


class KbClientError(RuntimeError):
    """The dialogue command line could not be run or gave no readable answer."""


class KbClient:
    def __init__(self, settings: DashboardSettings) -> None:
        self.settings = settings
        kb = Path(settings.kb_dir)
        self.procedures_dir = kb / "procedures" if (kb / "procedures").is_dir() else kb
        self.kb_root = self.procedures_dir.parent if self.procedures_dir != kb else kb
        self._names: dict[str, tuple[float, str]] = {}

    # ---- reading --------------------------------------------------------------------------------
    def path_of(self, record_id: str) -> Path:
        if not _ID_RE.match(record_id):
            raise KeyError(record_id)
        path = self.procedures_dir / f"{record_id}.yaml"
        if not path.is_file():
            raise KeyError(record_id)
        return path

    def list_records(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.procedures_dir.glob("*.yaml")):
            mtime = path.stat().st_mtime
            cached = self._names.get(path.stem)
            if cached is None or cached[0] != mtime:
                try:
                    data = yaml.safe_load(path.read_text(encoding="utf-8"))
                    name = str(data.get("name", "")) if isinstance(data, dict) else ""
                except (OSError, yaml.YAMLError):
                    name = "(lỗi cú pháp YAML / YAML syntax error)"
                cached = self._names[path.stem] = (mtime, name)
            out.append({"id": path.stem, "name": cached[1], "modified_unix_s": mtime})
        return out

    def read(self, record_id: str) -> str:
        return self.path_of(record_id).read_text(encoding="utf-8")

    def history(self, record_id: str) -> list[dict[str, Any]]:
        folder = Path(self.settings.kb_history_dir) / record_id
        if not _ID_RE.match(record_id) or not folder.is_dir():
            return []
        return [{"version": p.stem, "bytes": p.stat().st_size, "saved_unix_s": p.stat().st_mtime}
                for p in sorted(folder.glob("*.yaml"), reverse=True)]

    # ---- the dialogue CLI -----------------------------------------------------------------------
    def _cli(self, *args: str, timeout_s: float | None = None) -> tuple[int, dict[str, Any]]:
        cmd = [self.settings.python, "-m", "dialogue", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s or self.settings.cli_timeout_s,
                                  env=dict(os.environ, PYTHONUNBUFFERED="1"))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise KbClientError(f"cannot run {' '.join(cmd[:4])}: {exc}") from exc
        try:
            return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError) as exc:
            raise KbClientError(f"`{' '.join(cmd[:4])}` failed (exit {proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip()[-500:]}") from exc

    def _common(self) -> list[str]:
        return ["--kb-dir", str(self.procedures_dir), "--center", str(self.settings.center_path), "--json"]

    def validate(self, record_id: str, text: str) -> dict[str, Any]:
        if not _ID_RE.match(record_id):
            raise KeyError(record_id)
        with tempfile.TemporaryDirectory(prefix="kb-edit-") as tmp:
            candidate = Path(tmp) / f"{record_id}.yaml"
            candidate.write_text(text, encoding="utf-8")
            return self._cli("validate", "--candidate", str(candidate), *self._common())[1]

    def save(self, record_id: str, text: str, expect_sha256: str | None) -> dict[str, Any]:
        self.path_of(record_id)
        with tempfile.TemporaryDirectory(prefix="kb-edit-") as tmp:
            candidate = Path(tmp) / f"{record_id}.yaml"
            candidate.write_text(text, encoding="utf-8")
            extra = ["--expect-sha256", expect_sha256] if expect_sha256 else []
            return self._cli("save-record", str(candidate), "--backup-dir", str(self.settings.kb_history_dir),
                             *extra, *self._common())[1]

    def add_example(self, record_id: str, question: str) -> dict[str, Any]:
        self.path_of(record_id)
        return self._cli("add-example", record_id, question, "--backup-dir", str(self.settings.kb_history_dir),
                         *self._common())[1]


class TrainJob:
    """One background ``python -m dialogue train --progress`` at a time, then a reload of the kiosks."""

    def __init__(self, settings: DashboardSettings, kb: KbClient,
                 on_change: Callable[[dict[str, Any]], None],
                 reload_kiosks: Callable[[], dict[str, dict[str, Any]]]) -> None:
        self.settings = settings
        self.kb = kb
        self._on_change = on_change
        self._reload_kiosks = reload_kiosks
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._state: dict[str, Any] = {"state": "idle", "progress": 0.0, "stage": "", "log": []}

    def status(self) -> dict[str, Any]:
        with self._lock:
            return json.loads(json.dumps(self._state))

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._state.update(changes)
            state = json.loads(json.dumps(self._state))
        self._on_change(state)

    def start(self, username: str) -> bool:
        """Start training; False when one is already running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._state = {"state": "running", "progress": 0.0, "stage": "starting", "log": [],
                           "started_by": username, "started_unix_s": time.time(), "finished_unix_s": None,
                           "reload": {}, "message": ""}
            self._thread = threading.Thread(target=self._run, name="kb-train", daemon=True)
            self._thread.start()
        self._on_change(self.status())
        return True

    def wait(self, timeout_s: float) -> dict[str, Any]:
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return self.status()

    def _run(self) -> None:
        cmd = [self.settings.python, "-m", "dialogue", "train", "--progress", "--quiet",
               "--kb-dir", str(self.kb.kb_root), "--out", str(self.settings.model_dir)]
        log: deque[str] = deque(maxlen=20)
        done: dict[str, Any] = {}
        try:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
            watchdog = threading.Timer(self.settings.train_timeout_s, self._proc.kill)
            watchdog.daemon = True
            watchdog.start()
            assert self._proc.stdout is not None
            for raw in self._proc.stdout:
                line = raw.strip()
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    if line:
                        log.append(line[:300])
                    continue
                if event.get("stage") in ("done", "failed"):
                    done = event
                else:
                    self._update(stage=event.get("stage", ""), progress=float(event.get("progress", 0.0)),
                                 log=list(log))
            code = self._proc.wait(timeout=30)
            watchdog.cancel()
            if code < 0:
                log.append(f"training stopped (signal {-code}; limit {self.settings.train_timeout_s:.0f} s)")
        except (OSError, subprocess.TimeoutExpired) as exc:
            code, done = -1, {}
            log.append(f"cannot run training: {exc}")
        if code != 0 or done.get("stage") != "done":
            errors = done.get("errors") or []
            self._update(state="failed", progress=1.0, stage="failed", log=[*errors, *log][-20:],
                         finished_unix_s=time.time(),
                         message="Huấn luyện thất bại; kiosk vẫn dùng mô hình cũ. / "
                                 "training failed; the kiosks keep the last good model.")
            return
        report = done.get("report", {})
        self._update(stage="reloading the kiosks", progress=0.99, log=list(log), report={
            k: report.get(k) for k in ("train_s", "n_labels", "n_training_texts", "model_bytes")})
        results = self._reload_kiosks()
        ok = bool(results) and all(r.get("success") for r in results.values())
        self._update(state="succeeded", progress=1.0, stage="done", reload=results, finished_unix_s=time.time(),
                     message=("Đã huấn luyện và nạp lại trên mọi kiosk. / trained and reloaded on every kiosk."
                              if ok else "Đã huấn luyện; một số kiosk chưa nạp lại được (xem chi tiết). / "
                              "trained; some kiosks did not reload (see details)."))
