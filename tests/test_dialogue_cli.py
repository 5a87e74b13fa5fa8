"""``python -m dialogue`` through a real subprocess with the project's venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_dialogue_manager import trained_model_dir

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)
KB_DIR = REPO / "dialogue" / "kb" / "procedures"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_model_dir(tmp_path_factory)


def run(*args: str, env_extra: dict[str, str] | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [str(PYTHON), "-m", "dialogue", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def one_json(proc: subprocess.CompletedProcess) -> dict:
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stdout
    return json.loads(lines[0])


def test_ask_json(model_dir: Path) -> None:
    p = run("ask", "làm giấy khai sinh cho con cần gì", "--json", "--model-dir", str(model_dir))
    assert p.returncode == 0, p.stderr
    out = one_json(p)
    assert {"intent", "confidence", "procedure_id", "reply_voice", "reply_screen"} <= set(out)
    assert out["procedure_id"] == "dang_ky_khai_sinh"
    assert out["reply_screen"]["type"] == "procedure"
    assert "khai sinh" in out["reply_voice"]


def test_ask_session_continues_across_calls(model_dir: Path, tmp_path: Path) -> None:
    env = {"KIOSK_DIALOGUE_STATE_DIR": str(tmp_path)}
    common = ("--session", "quay1", "--json", "--model-dir", str(model_dir))
    first = run("ask", "đăng ký kết hôn", *common, env_extra=env)
    assert one_json(first)["procedure_id"] == "dang_ky_ket_hon"
    fee = one_json(run("ask", "thế lệ phí bao nhiêu?", *common, env_extra=env))
    assert fee["procedure_id"] == "dang_ky_ket_hon"
    assert fee["reply_screen"]["procedure"]["focus"] == "fee"
    other = one_json(run("ask", "thế lệ phí bao nhiêu?", "--json", "--model-dir", str(model_dir), env_extra=env))
    assert other["procedure_id"] is None  # no session given: no memory


@pytest.mark.parametrize("text", ["", "   ", "😀", "x" * 10_000, "<b>SELECT 1</b>"])
def test_ask_bad_input(model_dir: Path, text: str) -> None:
    p = run("ask", text, "--json", "--model-dir", str(model_dir))
    assert p.returncode == 0, p.stderr
    out = one_json(p)
    assert out["procedure_id"] is None and out["reply_voice"]


def test_ask_without_model_is_a_clear_error(tmp_path: Path) -> None:
    p = run("ask", "khai sinh", "--json", "--model-dir", str(tmp_path / "missing"))
    assert p.returncode != 0
    assert "python -m dialogue train" in p.stderr
    assert "Traceback" not in p.stderr and p.stdout == ""


def test_address_json() -> None:
    merged = one_json(run("address", "phuong muoi hai quan sau thanh pho ho chi minh", "--json"))
    assert merged["found"] is True and merged["new_ward"] == "Phường Phú Lâm"
    assert merged["new_province"] == "Thành phố Hồ Chí Minh"
    assert {"found", "new_ward", "new_province", "candidates", "message"} <= set(merged)
    split = one_json(run("address", "12 đường Trần Phú xã Hòa Liên huyện Hòa Vang Đà Nẵng", "--json"))
    assert len(split["candidates"]) >= 2
    unknown = one_json(run("address", "xã abc xyz", "--json"))
    assert unknown["found"] is False and unknown["candidates"] == [] and unknown["message"]


def test_validate_ok_and_errors(tmp_path: Path) -> None:
    ok = run("validate")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: 32 procedures" in ok.stdout
    bad = tmp_path / "procedures"
    shutil.copytree(KB_DIR, bad)
    text = (bad / "dang_ky_ket_hon.yaml").read_text(encoding="utf-8")
    (bad / "dang_ky_ket_hon.yaml").write_text(text.replace("category: civil_status", "category: sport"), "utf-8")
    (bad / "dang_ky_khai_tu.yaml").write_text("id: dang_ky_khai_tu\n", encoding="utf-8")
    p = run("validate", "--kb-dir", str(bad))
    assert p.returncode == 1
    lines = p.stdout.splitlines()
    assert any(ln.startswith("dang_ky_ket_hon.yaml: category: unknown category 'sport'") for ln in lines)
    assert any(ln.startswith("dang_ky_khai_tu.yaml: counter: missing field") for ln in lines)
    assert "Traceback" not in p.stderr


def test_train_refuses_bad_kb_without_traceback(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(KB_DIR.parent, kb, ignore=shutil.ignore_patterns("asr_transcripts.yaml"))
    (kb / "procedures" / "dang_ky_khai_tu.yaml").write_text("id: dang_ky_khai_tu\n", encoding="utf-8")
    p = run("train", "--quiet", "--kb-dir", str(kb), "--out", str(tmp_path / "out"))
    assert p.returncode != 0
    assert "dang_ky_khai_tu.yaml" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "out" / "dialogue.onnx").exists()


def test_usage_errors_and_gen_asr_data_forwarding() -> None:
    p = run()
    assert p.returncode == 2 and "usage" in p.stderr and "Traceback" not in p.stderr
    p = run("gen-asr-data", "--help")
    assert p.returncode == 0 and "gen-asr-data" in p.stdout


def test_runtime_imports_no_ros_no_sklearn(model_dir: Path) -> None:
    code = (
        "import sys; from dialogue import DialogueEngine; "
        f"e = DialogueEngine.load({str(model_dir)!r}); e.respond('làm khai sinh'); "
        "bad = [m for m in ('rclpy', 'sklearn', 'torch', 'skl2onnx') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    p = subprocess.run([str(PYTHON), "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
