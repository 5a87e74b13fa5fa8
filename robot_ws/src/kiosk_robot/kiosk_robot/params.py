"""Declared parameters and their rules, without ROS: shared by the nodes, the parameter-file
checker (``kiosk_check_params``) and the generated parameter table (docs/parameters.md).

A :class:`Param` has a name, a default (whose Python type is the parameter's ROS type), a
description, a unit and an optional rule. A :class:`Rule` is a test with a short text for people
("> 0", "0 … 1", "one of auto, device, wav"); a plain function returning an error message or
None also works as a rule. A node class may add :class:`Constraint` s over several parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COMMON_PARAMS",
    "CONFIG_ERROR_EXIT",
    "Constraint",
    "Param",
    "Rule",
    "at_most",
    "between",
    "config_problems",
    "non_negative",
    "not_empty",
    "one_of",
    "port_number",
    "positive",
    "ros_type_name",
    "value_text",
]

# sysexits.h EX_CONFIG: a node exits with it when its configuration cannot even be parsed; the
# bringup and systemd (RestartPreventExitStatus) then stop restarting it until the files change.
CONFIG_ERROR_EXIT = 78


@dataclass(frozen=True)
class Rule:
    """A check on one value: ``text`` says the rule, ``test`` returns True when the value is fine."""

    text: str
    test: Callable[[Any], bool]

    def __call__(self, value: Any) -> str | None:
        return None if self.test(value) else f"must be {self.text}"


def positive(value: Any) -> str | None:
    """> 0"""
    return None if value > 0 else "must be > 0"


def non_negative(value: Any) -> str | None:
    """>= 0"""
    return None if value >= 0 else "must be >= 0"


def between(low: float, high: float) -> Rule:
    return Rule(f"{low} … {high}", lambda v: low <= v <= high)


def at_most(high: float) -> Rule:
    return Rule(f"<= {high}", lambda v: v <= high)


def one_of(*allowed: Any) -> Rule:
    return Rule("one of " + ", ".join(str(a) for a in allowed), lambda v: v in allowed)


port_number = between(1, 65535)
not_empty = Rule("not empty", lambda v: bool(str(v).strip()))


def rule_text(rule: Callable[[Any], str | None] | None) -> str:
    """How a rule reads in docs and messages."""
    if rule is None:
        return ""
    if isinstance(rule, Rule):
        return rule.text
    return (rule.__doc__ or rule.__name__).strip().splitlines()[0]


_ROS_TYPES = {bool: "bool", int: "integer", float: "double", str: "string", bytes: "byte_array"}


def ros_type_name(value: Any) -> str:
    """The ROS 2 parameter type a value has: bool, integer, double, string or <type>_array."""
    if isinstance(value, list | tuple):
        inner = {_ROS_TYPES.get(type(v), type(v).__name__) for v in value}
        return f"{inner.pop()}_array" if len(inner) == 1 else "array (mixed)"
    return _ROS_TYPES.get(type(value), type(value).__name__)


def value_text(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Param:
    """A declared parameter: name, default (its type is the parameter's type) and meaning."""

    name: str
    default: Any
    description: str
    unit: str = ""
    check: Callable[[Any], str | None] | None = None  # returns an error message or None

    @property
    def descriptor(self):
        """The rcl_interfaces ParameterDescriptor (imported here: this module needs no ROS)."""
        from rcl_interfaces.msg import ParameterDescriptor

        return ParameterDescriptor(description=f"{self.description} [{self.unit}]" if self.unit else self.description)

    @property
    def ros_type(self) -> str:
        return ros_type_name(self.default)

    @property
    def rule(self) -> str:
        return rule_text(self.check)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable (wrong type or breaks the rule), or None."""
        if ros_type_name(value) != self.ros_type and not (self.ros_type.endswith("_array") and value == []):
            return f"expects {self.ros_type}, found {ros_type_name(value)} {value_text(value)}{_type_hint(self, value)}"
        if self.check is not None:
            try:
                problem = self.check(value)
            except TypeError as exc:  # a rule that cannot compare this value
                problem = f"cannot be checked ({exc})"
            if problem:
                return f"= {value_text(value)} {problem}"
        return None


def _type_hint(param: Param, value: Any) -> str:
    if param.ros_type == "double" and ros_type_name(value) == "integer":
        return f" (ROS does not convert integers: write {value}.0)"
    if param.ros_type == "string" and not isinstance(value, str):
        return f" (quote it: \"{value_text(value).strip(chr(39))}\")"
    if param.ros_type == "bool":
        return " (write true or false)"
    return ""


@dataclass(frozen=True)
class Constraint:
    """A rule over several parameters of one node, e.g. ``num_hypotheses <= beam_size``."""

    text: str
    names: tuple[str, ...]
    test: Callable[..., bool]

    def problem(self, values: Mapping[str, Any]) -> str | None:
        args = [values.get(n) for n in self.names]
        try:
            fine = self.test(*args)
        except TypeError:
            return None  # a wrong type is reported for the parameter itself
        shown = ", ".join(f"{n} = {value_text(v)}" for n, v in zip(self.names, args, strict=True))
        return None if fine else f"{self.text} ({shown})"


COMMON_PARAMS: tuple[Param, ...] = (
    Param("autostart", True, "configure and activate by itself at start-up"),
    Param("retry_period_s", 5.0, "wait before retrying a failed configure", "s", positive),
    Param("diagnostics_period_s", 1.0, "period of /diagnostics messages", "s", positive),
)


def config_problems(params: Iterable[Param], values: Mapping[str, Any],
                    constraints: Sequence[Constraint] = ()) -> list[str]:
    """Every problem with ``values`` (name → value) against declared params and constraints."""
    problems = []
    for param in params:
        if param.name in values:
            problem = param.problem(values[param.name])
            if problem:
                problems.append(f"{param.name} {problem}")
    for constraint in constraints:
        problem = constraint.problem(values)
        if problem:
            problems.append(problem)
    return problems
