"""Editing knowledge-base records safely: validate a candidate, save atomically, add an example.

Used by the command line (``python -m dialogue validate --candidate``, ``save-record``,
``add-example``), which is how the staff dashboard edits the KB without importing this package.
A candidate is validated together with the rest of the KB (in a temporary folder of links), so
duplicate ids and file-name checks apply. A save keeps the previous version of the file in a
backup folder and replaces the record with one ``os.replace``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from dialogue.kb import DEFAULT_KB_DIR, KbError, load_knowledge_base, validate_kb
from kiosk_protocol.text import fold_key, nfc

__all__ = [
    "EditResult",
    "FieldError",
    "add_example",
    "field_line",
    "procedures_dir",
    "save_record",
    "sha256_text",
    "validate_candidate",
]

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_LINE_IN_REASON = re.compile(r"\bline (\d+)")
_SAFE_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


@dataclass(frozen=True)
class FieldError(KbError):
    """A validator error with the line of its field in the candidate's YAML (1-based; None if unknown)."""

    line: int | None = None
    in_candidate: bool = False


@dataclass
class EditResult:
    ok: bool
    errors: list[FieldError]
    procedures: int = 0
    saved: str = ""
    backup: str = ""
    sha256: str = ""
    conflict: bool = False
    added: bool = False

    def as_dict(self) -> dict:
        return {**asdict(self), "errors": [asdict(e) for e in self.errors]}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def procedures_dir(kb_dir: Path | str | None) -> Path:
    """The procedures folder for a KB root (``dialogue/kb``) or the procedures folder itself."""
    path = Path(kb_dir) if kb_dir else DEFAULT_KB_DIR
    return path / "procedures" if (path / "procedures").is_dir() else path


def field_line(text: str, field_path: str) -> int | None:
    """The 1-based line of ``field_path`` (``submission_methods[0].fee_vnd``) in YAML ``text``.

    A field that is missing maps to its nearest present parent; None when the YAML does not parse.
    """
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1 if isinstance(node, yaml.MappingNode) else None
    for name, index in _PATH_TOKEN.findall(field_path):
        child = None
        if name and isinstance(node, yaml.MappingNode):
            child = next(((k, v) for k, v in node.value if getattr(k, "value", None) == name), None)
            if child is not None:
                line = child[0].start_mark.line + 1
                child = child[1]
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _with_lines(errors: list[KbError], candidate_name: str, text: str) -> list[FieldError]:
    out = []
    for err in errors:
        mine = err.file == candidate_name
        line = None
        if mine:
            found = _LINE_IN_REASON.search(err.reason) if err.field == "(file)" else None
            line = int(found.group(1)) if found else field_line(text, err.field)
        out.append(FieldError(err.file, err.field, err.reason, line, mine))
    return out


def validate_candidate(kb_dir: Path | str | None, record_id: str, text: str,
                       center_path: Path | str | None = None) -> EditResult:
    """Validate the KB as if ``<record_id>.yaml`` had ``text``; nothing on disk changes."""
    if not _SAFE_ID.match(record_id):
        err = FieldError(f"{record_id}.yaml", "id", "record id must be snake_case ASCII", None, True)
        return EditResult(False, [err])
    source = procedures_dir(kb_dir)
    name = f"{record_id}.yaml"
    with tempfile.TemporaryDirectory(prefix="kb-candidate-") as tmp:
        for path in sorted(source.glob("*.y*ml")):
            if path.name != name and path.suffix in (".yaml", ".yml"):
                os.symlink(path.resolve(), Path(tmp) / path.name)
        (Path(tmp) / name).write_text(text, encoding="utf-8")
        errors = validate_kb(tmp, center_path)
        count = 0 if errors else len(load_knowledge_base(tmp, center_path).procedures)
    return EditResult(not errors, _with_lines(errors, name, text), procedures=count)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_record(kb_dir: Path | str | None, record_id: str, text: str, backup_dir: Path | str,
                center_path: Path | str | None = None, expect_sha256: str | None = None) -> EditResult:
    """Validate, keep the current file in ``backup_dir/<id>/``, then replace the record atomically.

    ``expect_sha256`` (of the text the editor started from) refuses to overwrite someone else's
    newer save (``conflict``).
    """
    text = nfc(text)
    target = procedures_dir(kb_dir) / f"{record_id}.yaml"
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if expect_sha256 and current is not None and sha256_text(current) != expect_sha256:
        reason = "the record changed since you opened it; reload it and edit again"
        return EditResult(False, [FieldError(target.name, "(file)", reason, None, True)], conflict=True)
    result = validate_candidate(kb_dir, record_id, text, center_path)
    if not result.ok:
        return result
    if current is not None:
        folder = Path(backup_dir) / record_id
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{time.time_ns() % 1_000_000_000:09d}"
        backup = folder / f"{stamp}.yaml"
        _write_atomically(backup, current)
        result.backup = str(backup)
    _write_atomically(target, text)
    result.saved, result.sha256 = str(target), sha256_text(text)
    return result


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_example(kb_dir: Path | str | None, record_id: str, question: str, backup_dir: Path | str,
                center_path: Path | str | None = None) -> EditResult:
    """Append ``question`` to the record's ``examples`` (keeping the file's layout), validate and save."""
    question = " ".join(nfc(question).split())
    target = procedures_dir(kb_dir) / f"{record_id}.yaml"
    if not _SAFE_ID.match(record_id) or not target.is_file():
        return EditResult(False, [FieldError(target.name, "(file)", f"no procedure record '{record_id}'", None, True)])
    if not question or len(question) > 300:
        return EditResult(False, [FieldError(target.name, "examples", "the question must have 1-300 characters",
                                             None, True)])
    text = target.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    examples = data.get("examples") if isinstance(data, dict) else None
    if isinstance(examples, list) and any(fold_key(str(e)) == fold_key(question) for e in examples):
        return EditResult(True, [], saved=str(target), sha256=sha256_text(text), added=False)
    lines = text.splitlines(keepends=True)
    node = yaml.compose(text)
    entry = next((v for k, v in node.value if k.value == "examples"), None)
    if isinstance(entry, yaml.SequenceNode) and entry.value and entry.flow_style is False:
        last = entry.value[-1]
        dash = re.match(r"(\s*)-", lines[last.start_mark.line])
        indent = dash.group(1) if dash else " " * max(0, last.start_mark.column - 2)
        insert_at = last.end_mark.line + (1 if last.end_mark.column > 0 else 0)
        new_line = f"{indent}- {_quoted(question)}\n"
        if insert_at > 0 and not lines[insert_at - 1].endswith("\n"):
            lines[insert_at - 1] += "\n"
        lines.insert(insert_at, new_line)
        new_text = "".join(lines)
    else:  # no block list to extend: write the record back with the example added
        data["examples"] = [*(examples or []), question]
        new_text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
    result = save_record(kb_dir, record_id, new_text, backup_dir, center_path)
    result.added = result.ok
    return result
