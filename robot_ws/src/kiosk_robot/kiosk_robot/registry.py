"""The kiosk's node classes and their declared parameters, found without starting ROS.

Generic: each :class:`~kiosk_robot.bringup.NodeSpec` names a console executable; its entry point
(``kiosk_robot.asr_node:main``) names the module, and the node class is the one class defined
there that has ``PARAMS`` (or the module's ``NODE_CLASS``). A process hosting several nodes (a
NodeSpec with ``hosts``, e.g. perception: camera + engagement) maps each hosted node name to its
class in the module's ``NODE_CLASSES``. A new node needs nothing here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType

from .params import COMMON_PARAMS, Constraint, Param

__all__ = ["NodeInfo", "node_info", "node_infos"]

# Declared by rclpy on every node; a parameter file may set them.
ROS_BUILTIN_PARAMS = ("use_sim_time", "start_type_description_service")


@dataclass(frozen=True)
class NodeInfo:
    """What a node declares: its parameters (common ones first) and cross-parameter constraints."""

    name: str
    executable: str
    class_name: str
    area: str
    params: tuple[Param, ...]
    constraints: tuple[Constraint, ...]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def _module_for(executable: str) -> ModuleType:
    points = [ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name == executable]
    module_name = points[0].value.split(":")[0] if points else f"kiosk_robot.{executable}"
    return importlib.import_module(module_name)


def _node_class(module: ModuleType) -> type:
    explicit = getattr(module, "NODE_CLASS", None)
    if explicit is not None:
        return explicit
    found = [v for v in vars(module).values()
             if isinstance(v, type) and v.__module__ == module.__name__ and hasattr(v, "PARAMS")]
    if len(found) != 1:
        raise LookupError(f"{module.__name__} defines {len(found)} node classes with PARAMS; set NODE_CLASS")
    return found[0]


def node_info(name: str, executable: str, cls: type | None = None) -> NodeInfo:
    cls = cls or _node_class(_module_for(executable))
    return NodeInfo(name=name, executable=executable, class_name=cls.__name__, area=getattr(cls, "AREA", ""),
                    params=(*COMMON_PARAMS, *cls.PARAMS), constraints=tuple(getattr(cls, "CONSTRAINTS", ())))


def node_infos(specs: Iterable[object] | None = None) -> dict[str, NodeInfo]:
    """Node name → NodeInfo for ``specs`` (default: every node the bringup knows)."""
    if specs is None:
        from .bringup import ALL_NODES

        specs = ALL_NODES
    infos: dict[str, NodeInfo] = {}
    for spec in specs:
        hosts = getattr(spec, "hosts", ())
        if not hosts:
            infos[spec.name] = node_info(spec.name, spec.executable)  # type: ignore[attr-defined]
            continue
        classes = getattr(_module_for(spec.executable), "NODE_CLASSES", {})  # type: ignore[attr-defined]
        missing = [h for h in hosts if h not in classes]
        if missing:
            raise LookupError(f"{spec.executable} hosts {missing} but its NODE_CLASSES does not name them")
        for host in hosts:
            infos[host] = node_info(host, spec.executable, classes[host])  # type: ignore[attr-defined]
    return infos


def declared_names(info: NodeInfo) -> Sequence[str]:
    return [*(p.name for p in info.params), *ROS_BUILTIN_PARAMS]
