"""The launch files and the bringup must start the same nodes with the same parameter files.

``ros2 launch`` is not installable here, so the launch files are read statically (ast)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import yaml

from kiosk_robot.bringup import CENTER_NODES, KIOSK_NODES, PROFILES, profile_nodes
from kiosk_robot.registry import declared_names, node_infos

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "robot_ws" / "src" / "kiosk_robot"


def _launch_constant(name: str, file: str = "kiosk.launch.py"):
    tree = ast.parse((REPO / "launch" / file).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"launch/{file} has no {name}")


def _launch_nodes(name: str = "KIOSK_NODES") -> list[tuple[str, str, list[str]]]:
    return [tuple(item) for item in _launch_constant(name)]


def _launch_composed() -> dict[str, list[str]]:
    tree = ast.parse((REPO / "launch" / "kiosk.launch.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "COMPOSED" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _entry_points() -> dict[str, str]:
    source = (PACKAGE / "setup.py").read_text()
    nodes = ast.literal_eval(re.search(r"NODES = (\(.*?\))", source).group(1))
    points = {f"{n}_node": f"kiosk_robot.{n}_node:main" for n in nodes}
    tools = ast.literal_eval(re.search(r"TOOLS = (\{.*?\})", source, re.S).group(1))
    points.update({name: f"kiosk_robot.{target}" for name, target in tools.items()})
    return points


def test_launch_file_and_bringup_name_the_same_nodes_and_parameter_files():
    for name, specs in (("KIOSK_NODES", KIOSK_NODES), ("CENTER_NODES", CENTER_NODES)):
        assert _launch_nodes(name) == [(s.name, s.executable, list(s.params_files)) for s in specs], name
    assert _launch_composed() == {s.name: list(s.hosts) for s in KIOSK_NODES if s.hosts}


def test_launch_profiles_and_bringup_profiles_are_the_same():
    assert _launch_constant("PROFILES") == PROFILES
    known = {s.name for s in (*KIOSK_NODES, *CENTER_NODES)}
    for profile, spec in PROFILES.items():
        assert spec["nodes"] in ("KIOSK_NODES", "CENTER_NODES") or set(spec["nodes"]) <= known, profile
        for params in spec["params_files"]:
            assert (REPO / params).is_file(), f"{profile}: {params}"
    assert [s.name for s in profile_nodes("speech")] == ["microphone", "asr", "dialogue", "tts"]
    assert profile_nodes("kiosk") == KIOSK_NODES and profile_nodes("center") == CENTER_NODES


def test_every_profile_has_a_launch_file_that_includes_the_kiosk_launch_with_it():
    files = sorted(p.name for p in (REPO / "launch").glob("*.launch.py"))
    assert files == sorted(f"{p}.launch.py" for p in PROFILES)
    for profile in PROFILES:
        if profile == "kiosk":
            continue
        text = (REPO / "launch" / f"{profile}.launch.py").read_text()
        assert _launch_constant("PROFILE", f"{profile}.launch.py") == profile
        assert "IncludeLaunchDescription" in text and '"kiosk.launch.py"' in text and '{"profile": PROFILE}' in text
    tree = ast.parse((REPO / "launch" / "kiosk.launch.py").read_text())
    declared = {call.args[0].value for call in ast.walk(tree) if isinstance(call, ast.Call)
                and getattr(call.func, "id", "") == "DeclareLaunchArgument"}
    assert {"namespace", "params_file", "log_level", "respawn", "kiosk_root", "profile"} <= declared


def test_every_executable_is_an_entry_point_that_imports():
    points = _entry_points()
    for _name, executable, files in _launch_nodes() + _launch_nodes("CENTER_NODES"):
        assert executable in points, f"{executable} is not a console_scripts entry point in setup.py"
        module, function = points[executable].split(":")
        assert callable(getattr(importlib.import_module(module), function))
        for params in files:
            assert (REPO / params).is_file(), params


def _flatten(d: dict, prefix: str = ""):
    for key, value in d.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_parameter_file_has_a_section_for_every_node_and_only_declared_parameters():
    params = yaml.safe_load((REPO / "config" / "kiosk.yaml").read_text())
    infos = node_infos()
    composed = _launch_composed()
    for process, _executable, _files in _launch_nodes() + _launch_nodes("CENTER_NODES"):
        for name in composed.get(process, [process]):
            section = params[f"/**/{name}"]["ros__parameters"]
            unknown = set(_flatten(section)) - set(declared_names(infos[name]))
            assert not unknown, f"{name}: parameters in config/kiosk.yaml that the node does not declare: {unknown}"


def test_the_dashboard_is_one_per_center_and_the_bringup_puts_it_in_the_center_namespace():
    from kiosk_robot.bringup import Supervisor

    spec = next(s for s in KIOSK_NODES if s.name == "dashboard")
    assert profile_nodes("dashboard") == (spec,)
    assert spec.per_center and not any(s.per_center for s in KIOSK_NODES if s.name != "dashboard")
    assert _launch_constant("PER_CENTER") == {"dashboard"}
    supervisor = Supervisor((spec,), REPO, namespace="kiosk2", center_namespace="center1")
    cmd = supervisor.command(spec)
    assert "__ns:=/center1" in cmd and "__ns:=/kiosk2" not in cmd


def test_package_installs_launch_and_config():
    assert (PACKAGE / "launch" / "kiosk.launch.py").resolve() == (REPO / "launch" / "kiosk.launch.py").resolve()
    assert (PACKAGE / "config" / "kiosk.yaml").resolve() == (REPO / "config" / "kiosk.yaml").resolve()
    assert (PACKAGE / "resource" / "kiosk_robot").exists()
    xml = (PACKAGE / "package.xml").read_text()
    assert "<build_type>ament_python</build_type>" in xml and "GPL-3.0-or-later" in xml
