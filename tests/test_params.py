"""Parameter files are checked like rcl reads them, against what the node classes declare (no ROS)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk_robot.bringup import ALL_NODES
from kiosk_robot.param_files import check_files, matches, parse_params_file
from kiosk_robot.params import CONFIG_ERROR_EXIT, Param, between, positive
from kiosk_robot.params_doc import render
from kiosk_robot.registry import node_infos

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
NODES = node_infos()


def _write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(*files: Path, namespace: str = "kiosk"):
    return check_files([REPO / "config" / "kiosk.yaml", *files], NODES, namespace, repo_root=REPO)


def test_the_shipped_parameter_files_are_clean():
    assert _problems(REPO / "config" / "sim.yaml") == []


def test_registry_finds_every_node_class_from_the_entry_points():
    assert list(NODES) == [name for s in ALL_NODES for name in (s.hosts or (s.name,))]
    for info in NODES.values():
        names = [p.name for p in info.params]
        assert names[:3] == ["autostart", "retry_period_s", "diagnostics_period_s"]
        assert len(names) == len(set(names)), f"{info.name} declares a parameter twice"


def test_wrong_type_names_file_line_key_expected_type_and_found_value(tmp_path):
    site = _write(tmp_path, "/**/asr:\n  ros__parameters:\n    beam_size: 5\n    cpu_threads: many\n")
    (problem,) = _problems(site)
    assert (problem.file, problem.line, problem.key) == (str(site), 4, "cpu_threads")
    assert "expects integer" in problem.message and "'many'" in problem.message
    assert problem.level == "error"


def test_integer_for_a_double_is_a_type_error_as_in_rcl(tmp_path):
    site = _write(tmp_path, "/**/microphone:\n  ros__parameters:\n    wav_speed: 2\n")
    (problem,) = _problems(site)
    assert "expects double" in problem.message and "2.0" in problem.message


def test_rules_and_constraints_are_checked_in_files(tmp_path):
    site = _write(tmp_path, "/**/asr:\n  ros__parameters:\n    beam_size: -3\n    num_hypotheses: 0\n"
                            "/**/microphone:\n  ros__parameters:\n    vad:\n      threshold: 0.2\n")
    texts = [p.text() for p in _problems(site)]
    assert any("beam_size = -3 must be > 0" in t and ":3:" in t for t in texts), texts
    assert any("num_hypotheses = 0 must be > 0" in t for t in texts), texts
    assert any("vad.neg_threshold must be <= vad.threshold" in t and ":8:" in t for t in texts), texts


def test_malformed_yaml_reports_the_line(tmp_path):
    site = _write(tmp_path, "/**/asr:\n  ros__parameters:\n    beam_size: [1, 2\n    cpu_threads: 2\n")
    (problem,) = _problems(site)
    assert problem.line == 4 and "malformed YAML" in problem.message and "line 3" in problem.message


def test_unknown_keys_and_nodes_are_flagged_with_a_guess(tmp_path):
    site = _write(tmp_path, "/**/asr:\n  ros__parameters:\n    beam_sise: 4\n"
                            "/**/asrr:\n  ros__parameters:\n    beam_size: 4\n")
    by_key = {(p.node, p.key): p for p in _problems(site)}
    assert "beam_size" in by_key[("/**/asr", "beam_sise")].fix
    assert "'/**/asr'" in by_key[("/**/asrr", "")].fix


def test_sections_for_another_namespace_are_a_warning(tmp_path):
    site = _write(tmp_path, "/kiosk2/ui:\n  ros__parameters:\n    port: 8081\n")
    (problem,) = _problems(site)
    assert problem.level == "warning"
    assert _problems(site, namespace="kiosk2") == []


def test_rcl_scalar_rules(tmp_path):
    site = _write(tmp_path, "/**/t:\n  ros__parameters:\n    a: yes\n    b: 'yes'\n    c: 1e3\n    d: 0x10\n"
                            "    e: .inf\n    f: ~\n    g: !!str 5\n    h: [1, 2]\n")
    entries, problems = parse_params_file(site)
    assert not problems
    assert {e.name: e.value for e in entries} == {"a": True, "b": "yes", "c": 1000.0, "d": 16, "e": float("inf"),
                                                  "f": "~", "g": "5", "h": [1, 2]}
    mixed = _write(tmp_path, "/**/t:\n  ros__parameters:\n    l: [1, 2.0]\n    e:\n", "mixed.yaml")
    _, problems = parse_params_file(mixed)
    assert [p.line for p in problems] == [3, 4]


def test_wildcard_matching_like_rcl():
    assert matches("/**/asr", "/asr") and matches("/**/asr", "/a/b/asr")
    assert matches("/**", "/kiosk/asr") and matches("/*/asr", "/kiosk/asr")
    assert not matches("asr", "/kiosk/asr") and not matches("/*/asr", "/a/b/asr")


def test_a_secret_in_a_repository_file_is_flagged(tmp_path):
    from kiosk_robot.registry import NodeInfo

    info = NodeInfo("dash", "dash_node", "DashNode", "dashboard",
                    (Param("admin_password", "", "x"), Param("port", 1, "p", check=positive)), ())
    site = _write(tmp_path, "/**/dash:\n  ros__parameters:\n    admin_password: hunter2\n")
    (problem,) = check_files([site], {"dash": info}, repo_root=tmp_path)
    assert "secret" in problem.message
    assert check_files([site], {"dash": info}, repo_root=tmp_path / "elsewhere") == []


def test_param_problem_texts():
    p = Param("threshold", 0.5, "x", check=between(0.0, 1.0))
    assert p.problem(0.7) is None
    assert p.problem(1.5) == "= 1.5 must be 0.0 … 1.0"
    assert p.problem("high").startswith("expects double, found string 'high'")
    assert Param("n", 1, "x").problem(True).startswith("expects integer, found bool")


def test_command_line_exit_codes_and_json(tmp_path):
    site = _write(tmp_path, "/**/ui:\n  ros__parameters:\n    port: 70000\n")
    ok = subprocess.run([str(VENV_BIN / "kiosk_check_params"), "config/kiosk.yaml"], cwd=REPO,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([str(VENV_BIN / "kiosk_check_params"), "--json", "config/kiosk.yaml", str(site)],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == CONFIG_ERROR_EXIT
    report = json.loads(bad.stdout)
    assert not report["ok"] and report["problems"][0]["key"] == "port" and report["problems"][0]["line"] == 3


def test_bringup_check_starts_nothing_on_a_bad_file(tmp_path):
    site = _write(tmp_path, "/**/asr:\n  ros__parameters:\n    cpu_threads: many\n")
    result = subprocess.run([str(VENV_BIN / "kiosk_bringup"), "--root", str(REPO), "--params-file", str(site)],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == CONFIG_ERROR_EXIT
    assert "cpu_threads" in result.stderr and "nothing started" in result.stderr
    assert "started " not in result.stderr
    check = subprocess.run([str(VENV_BIN / "kiosk_bringup"), "--root", str(REPO), "--profile", "sim", "--check"],
                           cwd=REPO, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_parameter_table_is_in_sync_with_the_nodes():
    current = (REPO / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert current == render(NODES), "docs/parameters.md is out of date. Fix: run .venv/bin/kiosk_params_doc"
    for info in NODES.values():
        for param in info.params:
            assert f"`{param.name}`" in current


@pytest.mark.parametrize("info", list(NODES.values()), ids=list(NODES))
def test_every_numeric_parameter_with_a_unit_has_a_rule(info):
    """A period, count or size without a rule would let 0 or a negative value through."""
    for param in info.params:
        numeric = isinstance(param.default, int | float) and not isinstance(param.default, bool)
        if numeric and param.unit in ("s", "ms", "files", "threads", "turns", "x", "words/min", "probability",
                                      "m", "m/s", "rad", "rad/s", "deg", "Hz", "px", "fps"):
            exempt = param.name in ("pad_window_s",)  # <= 0 means Whisper's 30 s window
            assert param.check is not None or exempt, f"{info.name}.{param.name} has no rule"
