"""The launch file and the bringup must start the same nodes with the same parameter files."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import yaml

from kiosk_robot.bringup import KIOSK_NODES

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "robot_ws" / "src" / "kiosk_robot"


def _launch_nodes() -> list[tuple[str, str, list[str]]]:
    tree = ast.parse((REPO / "launch" / "kiosk.launch.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "KIOSK_NODES" for t in node.targets):
            return [tuple(item) for item in ast.literal_eval(node.value)]
    raise AssertionError("launch/kiosk.launch.py has no KIOSK_NODES list")


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
    points["kiosk_bringup"] = "kiosk_robot.bringup:main"
    return points


def test_launch_file_and_bringup_name_the_same_nodes_and_parameter_files():
    from_bringup = [(s.name, s.executable, list(s.params_files)) for s in KIOSK_NODES]
    assert _launch_nodes() == from_bringup
    assert _launch_composed() == {s.name: list(s.hosts) for s in KIOSK_NODES if s.hosts}


def test_every_executable_is_an_entry_point_that_imports():
    points = _entry_points()
    for _name, executable, files in _launch_nodes():
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
    composed = _launch_composed()
    for process, executable, _files in _launch_nodes():
        node_module = importlib.import_module(f"kiosk_robot.{executable}")
        node_classes = {k: v for k, v in vars(node_module).items()
                        if k.endswith("Node") and hasattr(v, "PARAMS") and v.__module__ == node_module.__name__}
        for name in composed.get(process, [process]):
            section = params[f"/**/{name}"]["ros__parameters"]
            node_class = node_classes[f"{name.capitalize()}Node"] if len(node_classes) > 1 else next(
                iter(node_classes.values()))
            unknown = set(_flatten(section)) - {p.name for p in node_class.PARAMS}
            assert not unknown, f"{name}: parameters in config/kiosk.yaml that the node does not declare: {unknown}"


def test_package_installs_launch_and_config():
    assert (PACKAGE / "launch" / "kiosk.launch.py").resolve() == (REPO / "launch" / "kiosk.launch.py").resolve()
    assert (PACKAGE / "config" / "kiosk.yaml").resolve() == (REPO / "config" / "kiosk.yaml").resolve()
    assert (PACKAGE / "resource" / "kiosk_robot").exists()
    xml = (PACKAGE / "package.xml").read_text()
    assert "<build_type>ament_python</build_type>" in xml and "GPL-3.0-or-later" in xml
