"""KB editing through the dialogue's own command line: candidate checks with lines, atomic saves, examples."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dialogue.kb_edit import add_example, field_line, save_record, sha256_text, validate_candidate

REPO = Path(__file__).resolve().parent.parent
RECORD = "dang_ky_khai_sinh"


@pytest.fixture
def kb(tmp_path) -> Path:
    shutil.copytree(REPO / "dialogue" / "kb" / "procedures", tmp_path / "procedures")
    return tmp_path / "procedures"


def cli(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "dialogue", *args], capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def test_field_paths_map_to_their_lines():
    text = "id: a\nsteps:\n  - one\n  - two\nonline:\n  url: x\n"
    assert field_line(text, "steps[1]") == 4
    assert field_line(text, "online.url") == 6
    assert field_line(text, "online.vneid") == 5  # missing: its parent
    assert field_line(text, "examples") == 1
    assert field_line("a: [", "a") is None


def test_validate_candidate_names_the_field_and_line_and_writes_nothing(kb):
    original = (kb / f"{RECORD}.yaml").read_text(encoding="utf-8")
    bad = original.replace("category: civil_status", "category: civil_statu", 1)
    code, out = cli("validate", "--json", "--kb-dir", str(kb), "--candidate", str(_write(kb.parent, bad)))
    assert code == 1 and not out["ok"]
    err = out["errors"][0]
    assert err["field"] == "category" and "unknown category" in err["reason"] and err["in_candidate"]
    assert bad.splitlines()[err["line"] - 1].startswith("category:")
    assert (kb / f"{RECORD}.yaml").read_text(encoding="utf-8") == original
    syntax = validate_candidate(kb, RECORD, "id: [\n")
    assert syntax.errors[0].field == "(file)" and syntax.errors[0].line is not None


def test_save_keeps_the_previous_version_and_refuses_a_stale_editor(kb, tmp_path):
    path = kb / f"{RECORD}.yaml"
    original = path.read_text(encoding="utf-8")
    new = original.replace("Cấp xã", "Cấp xã (phường)", 1)
    candidate = _write(tmp_path, new)
    code, out = cli("save-record", str(candidate), "--backup-dir", str(tmp_path / "hist"), "--kb-dir", str(kb),
                    "--expect-sha256", sha256_text(original), "--json")
    assert code == 0 and out["ok"], out
    assert path.read_text(encoding="utf-8") == new
    assert Path(out["backup"]).read_text(encoding="utf-8") == original
    code, out = cli("save-record", str(candidate), "--backup-dir", str(tmp_path / "hist"), "--kb-dir", str(kb),
                    "--expect-sha256", sha256_text(original), "--json")
    assert code == 3 and out["conflict"]
    bad = save_record(kb, RECORD, new.replace("id: dang_ky_khai_sinh", "id: other_id"), tmp_path / "hist")
    assert not bad.ok and bad.errors[0].field == "id" and path.read_text(encoding="utf-8") == new


def test_add_example_keeps_the_layout_and_refuses_duplicates(kb, tmp_path):
    path = kb / f"{RECORD}.yaml"
    before = path.read_text(encoding="utf-8")
    code, out = cli("add-example", RECORD, 'bé nhà tôi mới sinh, làm "giấy" gì', "--backup-dir", str(tmp_path / "h"),
                    "--kb-dir", str(kb), "--json")
    assert code == 0 and out["ok"] and out["added"], out
    after = path.read_text(encoding="utf-8")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ['  - "bé nhà tôi mới sinh, làm \\"giấy\\" gì"']
    assert yaml.safe_load(after)["examples"][-1] == 'bé nhà tôi mới sinh, làm "giấy" gì'
    again = add_example(kb, RECORD, "Bé nhà tôi mới sinh làm giấy gì", tmp_path / "h")
    assert again.ok and not again.added
    assert not add_example(kb, "no_such_record", "x", tmp_path / "h").ok


def test_train_reports_progress_as_json_lines(tmp_path):
    """Progress lines come before the model is written; a KB error ends with stage 'failed' and no model."""
    shutil.copytree(REPO / "dialogue" / "kb", tmp_path / "kb")
    (tmp_path / "kb" / "procedures" / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "dialogue", "train", "--progress", "--quiet", "--kb-dir",
                           str(tmp_path / "kb"), "--out", str(tmp_path / "model")], capture_output=True, text=True,
                          timeout=120)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 1 and lines[-1]["stage"] == "failed" and lines[-1]["errors"]
    assert not (tmp_path / "model").exists()


def _write(folder: Path, text: str) -> Path:
    path = folder / f"{RECORD}.yaml"
    path.write_text(text, encoding="utf-8")
    return path
