"""kiosk_check_params: check ROS 2 parameter files against what the kiosk's nodes declare.

Reads the files the way rcl does (``ros__parameters`` sections keyed by node name, ``/**`` and
``*`` wildcards, nested keys joined with '.', rcl's rules for which plain scalar is a bool, an
integer, a double or a string) and reports, with file and line: malformed YAML, a section that
matches no node, a key the node does not declare, a value of the wrong type, a value that breaks
the parameter's rule, and rules over several parameters on the merged values. Nothing starts
ROS: the declared parameters come from the node classes (:mod:`kiosk_robot.registry`).

Exit code 0 when every file is fine (warnings allowed), 78 (EX_CONFIG) when any error was found.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from .params import CONFIG_ERROR_EXIT, value_text
from .registry import NodeInfo, declared_names, node_infos

__all__ = ["Entry", "Problem", "check_files", "effective_values", "main", "parse_params_file"]

_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"}
_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"}
_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)
_YAML_SPECIAL_FLOAT = re.compile(r"[+-]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")
_STR_TAG = "tag:yaml.org,2002:str"
_SECRET_WORDS = ("password", "secret", "token", "api_key", "private_key")


@dataclass(frozen=True)
class Problem:
    """One finding: where (file, line, node section, key), what is wrong and how to fix it."""

    file: str
    line: int | None
    node: str
    key: str
    message: str
    fix: str
    level: str = "error"  # or "warning"

    def text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f"[{self.node}] {self.key}: " if self.key else f"[{self.node}] " if self.node else ""
        return f"{self.level.upper()} {where}: {what}{self.message}. Fix: {self.fix}"


@dataclass(frozen=True)
class Entry:
    """One parameter value as a file sets it."""

    file: str
    line: int
    section: str  # the node-name key, e.g. /**/asr
    name: str  # dotted parameter name
    value: Any


class _BadValue(ValueError):
    pass


def _scalar(node: yaml.ScalarNode) -> Any:
    """A plain or quoted scalar as rcl reads it."""
    text = node.value
    explicit_str = node.tag == _STR_TAG and yaml.resolver.Resolver().resolve(
        yaml.ScalarNode, text, (True, False)) != _STR_TAG
    if node.style in ("'", '"') or explicit_str:
        return text
    if text == "":
        raise _BadValue("no value (rcl cannot parse an empty value)")
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        digits = text.lstrip("+-")
        base = 8 if len(digits) > 1 and digits[0] == "0" and digits[1] not in "xX" else 0
        return int(text, base)
    if _FLOAT.fullmatch(text) or _YAML_SPECIAL_FLOAT.fullmatch(text):
        return float(text.replace(".inf", "inf").replace(".Inf", "inf").replace(".INF", "inf")
                     .replace(".nan", "nan").replace(".NaN", "nan").replace(".NAN", "nan"))
    return text


def _value(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        items = [_value(item) for item in node.value]
        if any(isinstance(i, list | dict) for i in items):
            raise _BadValue("a list of lists or mappings is not a ROS parameter")
        kinds = {type(i) for i in items}
        if len(kinds) > 1:
            raise _BadValue("list items of different types (" + ", ".join(sorted(k.__name__ for k in kinds))
                            + "); rcl needs one type per list")
        return items
    raise _BadValue("unexpected YAML node")


def _flatten(mapping: yaml.MappingNode, prefix: str = "") -> Iterable[tuple[str, yaml.Node]]:
    for key_node, value_node in mapping.value:
        name = f"{prefix}{key_node.value}"
        if isinstance(value_node, yaml.MappingNode):
            yield from _flatten(value_node, f"{name}.")
        else:
            yield name, value_node


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def parse_params_file(path: Path) -> tuple[list[Entry], list[Problem]]:
    """Every parameter value ``path`` sets, and the problems found in its YAML or structure."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(file, None, "", "", f"cannot read the file ({exc})", "check the path and that it is UTF-8")]
    try:
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        detail = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        if exc.context_mark is not None and exc.problem_mark is not None:
            detail += f" (the construct opened at line {exc.context_mark.line + 1})"
        return [], [Problem(file, line, "", "", f"malformed YAML: {detail}",
                            "close every bracket and quote; indent nested keys with spaces")]
    except yaml.YAMLError as exc:
        return [], [Problem(file, None, "", "", f"malformed YAML: {exc}", "fix the YAML syntax")]
    if root is None:
        return [], [Problem(file, None, "", "", "the file is empty", "add <node>: {ros__parameters: {...}} sections",
                            "warning")]
    if not isinstance(root, yaml.MappingNode):
        return [], [Problem(file, _line(root), "", "", "the top level must map node names to sections",
                            "write '/**/asr:' then 'ros__parameters:' indented under it")]
    entries: list[Entry] = []
    problems: list[Problem] = []
    _sections(file, root, "", entries, problems)
    return entries, problems


def _sections(file: str, mapping: yaml.MappingNode, prefix: str, entries: list[Entry], problems: list[Problem]) -> None:
    """Node sections; rcl joins nested keys above ``ros__parameters`` into a namespace."""
    for key_node, section in mapping.value:
        pattern = f"{prefix}{key_node.value}"
        params_node = None
        if isinstance(section, yaml.MappingNode):
            params_node = next((v for k, v in section.value if k.value == "ros__parameters"), None)
            if params_node is None and section.value and all(isinstance(v, yaml.MappingNode) for _, v in section.value):
                _sections(file, section, pattern.rstrip("/") + "/", entries, problems)
                continue
        if not isinstance(params_node, yaml.MappingNode):
            problems.append(Problem(file, _line(key_node), pattern, "",
                                    "no 'ros__parameters:' mapping under the node name",
                                    "indent the parameters under 'ros__parameters:'"))
            continue
        for name, value_node in _flatten(params_node):
            try:
                value = _value(value_node)
            except _BadValue as exc:
                problems.append(Problem(file, _line(value_node), pattern, name, str(exc),
                                        "give one value, or a list of values of one type"))
                continue
            if value == []:
                problems.append(Problem(file, _line(value_node), pattern, name, "an empty list has no ROS type",
                                        "remove the key to keep the default"))
                continue
            entries.append(Entry(file, _line(value_node), pattern, name, value))


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _pattern_regex(pattern: str) -> re.Pattern:
    """rcl node-name matching: '*' is one name token, '**' any number of namespace levels."""
    tokens = (pattern if pattern.startswith("/") else "/" + pattern).split("/")[1:]
    out = ""
    for i, token in enumerate(tokens):
        if token == "**":
            out += "(/[^/]+)*" if i < len(tokens) - 1 else "(/[^/]+)+"
        else:
            out += "/" + re.escape(token).replace(r"\*", "[^/]+")
    return re.compile(out)


def matches(pattern: str, fully_qualified_name: str) -> bool:
    return bool(_pattern_regex(pattern).fullmatch(fully_qualified_name))


def _fqn(namespace: str, node: str) -> str:
    ns = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return f"{ns}/{node}"


def _inside(path: str, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def check_files(files: Sequence[Path], nodes: dict[str, NodeInfo], namespace: str = "kiosk",
                repo_root: Path | None = None) -> list[Problem]:
    """Every problem in ``files`` (applied in order) for ``nodes`` running in ``namespace``."""
    problems: list[Problem] = []
    entries: list[Entry] = []
    for path in files:
        file_entries, file_problems = parse_params_file(Path(path))
        problems += file_problems
        entries += file_entries
    known = sorted(nodes)
    sections: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        sections.setdefault((entry.file, entry.section), []).append(entry)
    merged: dict[str, dict[str, Entry]] = {name: {} for name in nodes}
    for (file, pattern), items in sections.items():
        here = [n for n in nodes if matches(pattern, _fqn(namespace, n))]
        if not here:
            line = items[0].line - 1
            last = pattern.rstrip("/").rsplit("/", 1)[-1]
            if last in nodes or "*" in last:
                problems.append(Problem(file, line, pattern, "", f"does not apply to namespace /{namespace.strip('/')}",
                                        f"use '/**/{last}' for every namespace, or run with this namespace",
                                        "warning"))
                continue
            guess = difflib.get_close_matches(last, known, n=1)
            problems.append(Problem(file, line, pattern, "", "matches no kiosk node (known: " + ", ".join(known) + ")",
                                    f"did you mean '/**/{guess[0]}'?" if guess else "use a node name from the list"))
            continue
        for entry in items:
            owners = [n for n in here if entry.name in declared_names(nodes[n])]
            if not owners:
                names = sorted({p.name for n in here for p in nodes[n].params})
                guess = difflib.get_close_matches(entry.name, names, n=1)
                problems.append(Problem(file, entry.line, pattern, entry.name,
                                        f"not a parameter of {', '.join(here)} (ROS would ignore it)",
                                        f"did you mean '{guess[0]}'?" if guess else
                                        "remove it; see docs/parameters.md for the declared parameters"))
                continue
            for name in owners:
                param = nodes[name].param(entry.name)
                problem = param.problem(entry.value) if param is not None else None
                if problem:
                    rule = f" (rule: {param.rule})" if param.rule and not problem.startswith("expects") else ""
                    problems.append(Problem(file, entry.line, pattern, entry.name,
                                            f"{name}.{entry.name} {problem}",
                                            f"use {_article(param.ros_type)} {param.ros_type} value{rule}; "
                                            f"default {value_text(param.default)}"))
                    continue
                merged[name][entry.name] = entry
            if (any(w in entry.name.lower() for w in _SECRET_WORDS) and isinstance(entry.value, str)
                    and entry.value and _inside(entry.file, repo_root)):  # a number is a rule, not a secret
                problems.append(Problem(file, entry.line, pattern, entry.name,
                                        "a secret is set in a file inside the repository",
                                        "keep secrets in a file outside the repo (e.g. /etc/kiosk-robot/) "
                                        "readable only by the kiosk user"))
    for name, info in nodes.items():
        values = {p.name: p.default for p in info.params}
        values.update({k: e.value for k, e in merged[name].items()})
        for constraint in info.constraints:
            problem = constraint.problem(values)
            if problem:
                last = max((merged[name][n] for n in constraint.names if n in merged[name]),
                           key=entries.index, default=None)
                problems.append(Problem(last.file if last else "(defaults)", last.line if last else None,
                                        name, ",".join(constraint.names), f"{name}: {problem}",
                                        "change one of the values so the rule holds"))
    return problems


def effective_values(files: Sequence[Path], nodes: dict[str, NodeInfo], namespace: str = "kiosk") -> dict[str, dict]:
    """Node → parameter → the value it will run with (defaults, then the files in order; values of
    the wrong type are skipped, as rcl keeps the earlier one)."""
    values = {name: {p.name: p.default for p in info.params} for name, info in nodes.items()}
    for path in files:
        for entry in parse_params_file(Path(path))[0]:
            for name, info in nodes.items():
                param = info.param(entry.name)
                if param is not None and matches(entry.section, _fqn(namespace, name)) \
                        and not (param.problem(entry.value) or "").startswith("expects"):
                    values[name][entry.name] = entry.value
    return values


def main(argv: list[str] | None = None) -> int:
    from .bringup import ALL_NODES

    parser = argparse.ArgumentParser(prog="kiosk_check_params", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path,
                        help="parameter files in the order they are applied (default: config/kiosk.yaml)")
    parser.add_argument("--namespace", default="kiosk", help="the kiosk's namespace (default kiosk)")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (for the default file)")
    parser.add_argument("--json", action="store_true", help="print the problems as JSON")
    args = parser.parse_args(argv)
    files = args.files or [args.root / "config" / "kiosk.yaml"]
    problems = check_files(files, node_infos(ALL_NODES), args.namespace, repo_root=args.root)
    errors = [p for p in problems if p.level == "error"]
    if args.json:
        print(json.dumps({"files": [str(f) for f in files], "ok": not errors,
                          "problems": [asdict(p) for p in problems]}, ensure_ascii=False, indent=2))
    else:
        for problem in problems:
            print(problem.text(), file=sys.stderr)
        print(f"[kiosk_check_params] {len(files)} file(s), {len(ALL_NODES)} node(s): {len(errors)} error(s), "
              f"{len(problems) - len(errors)} warning(s)", file=sys.stderr)
    return CONFIG_ERROR_EXIT if errors else 0


if __name__ == "__main__":
    sys.exit(main())
