"""Knowledge base: one YAML file per procedure (format in ``dialogue/kb/README.md``).

:func:`load_knowledge_base` reads and validates every record and raises :class:`KbInvalidError`
listing all errors; :func:`validate_kb` returns the errors without raising.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kiosk_protocol.text import nfc

__all__ = [
    "CATEGORIES",
    "DEFAULT_CENTER_PATH",
    "DEFAULT_KB_DIR",
    "MIN_EXAMPLES",
    "KbError",
    "KbInvalidError",
    "KnowledgeBase",
    "OnlineInfo",
    "Paper",
    "Procedure",
    "Source",
    "SubmissionMethod",
    "load_counter_keys",
    "load_knowledge_base",
    "validate_kb",
]

log = logging.getLogger("dialogue.kb")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KB_DIR = REPO_ROOT / "dialogue" / "kb" / "procedures"
DEFAULT_CENTER_PATH = REPO_ROOT / "config" / "center.yaml"

CATEGORIES = frozenset(
    {
        "civil_status",
        "certification",
        "residence",
        "identity",
        "business",
        "social_protection",
        "health_insurance",
        "land",
        "construction",
        "judicial_record",
    }
)
METHODS = frozenset({"in_person", "online", "post"})
ORIGINAL_OR_COPY = frozenset({"original", "copy", "original_or_copy", "present"})
MIN_EXAMPLES = 8
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class KbError:
    """One problem in one KB file."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.reason}"


class KbInvalidError(ValueError):
    """The knowledge base has errors; ``errors`` lists them all."""

    def __init__(self, errors: list[KbError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(
            f"knowledge base has {len(errors)} error(s): {shown}{more}. "
            "Run `python -m dialogue validate` for the full list."
        )


@dataclass(frozen=True)
class SubmissionMethod:
    method: str
    processing_time: str
    processing_time_days: float | None
    fee: str
    fee_vnd: int | None


@dataclass(frozen=True)
class Paper:
    name: str
    form: str | None
    original_or_copy: str
    quantity: int


@dataclass(frozen=True)
class OnlineInfo:
    available: bool
    portal: str
    url: str
    vneid: bool
    note: str


@dataclass(frozen=True)
class Source:
    url: str
    title: str


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure (a KB record)."""

    id: str
    code: str
    name: str
    short_name: str
    aliases: list[str]
    field: str
    category: str
    level: str
    agency: str
    applicant: str
    counter: str
    steps: list[str]
    submission_methods: list[SubmissionMethod]
    required_papers: list[Paper]
    result: str
    legal_basis: list[str]
    online: OnlineInfo
    sources: list[Source]
    date_checked: str
    examples: list[str]
    path: str = ""


@dataclass
class KnowledgeBase:
    """All procedures, keyed by id."""

    procedures: dict[str, Procedure] = field(default_factory=dict)
    kb_dir: Path | None = None

    def __len__(self) -> int:
        return len(self.procedures)

    def get(self, procedure_id: str | None) -> Procedure | None:
        return self.procedures.get(procedure_id) if procedure_id else None


# --------------------------------------------------------------------------- validation helpers


class _Checker:
    """Collects errors for one file while reading typed fields."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[KbError] = []

    def err(self, fld: str, reason: str) -> None:
        self.errors.append(KbError(self.file, fld, reason))

    def text(self, value: Any, fld: str, *, allow_empty: bool = False, nullable: bool = False) -> str | None:
        if value is None:
            if nullable:
                return None
            self.err(fld, "missing or null; expected a string")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.err(fld, f"wrong type {type(value).__name__}; expected a string")
            return None
        if not isinstance(value, str):
            self.err(fld, f"wrong type {type(value).__name__}; expected a string (quote it)")
            return None
        if not allow_empty and not value.strip():
            self.err(fld, "empty string")
            return None
        if nfc(value) != value:
            self.err(fld, "text is not Unicode NFC; re-save the file in NFC (composed) form")
        return value

    def text_list(self, value: Any, fld: str, *, min_len: int = 0) -> list[str]:
        if value is None:
            value = []
        if not isinstance(value, list):
            self.err(fld, f"wrong type {type(value).__name__}; expected a list of strings")
            return []
        out = []
        for i, item in enumerate(value):
            s = self.text(item, f"{fld}[{i}]")
            if s is not None:
                out.append(s)
        if len(value) < min_len:
            self.err(fld, f"has {len(value)} item(s); at least {min_len} required")
        return out

    def boolean(self, value: Any, fld: str) -> bool:
        if not isinstance(value, bool):
            self.err(fld, f"wrong type {type(value).__name__}; expected true or false")
            return False
        return value

    def number(self, value: Any, fld: str, *, nullable: bool, integer: bool = False) -> Any:
        if value is None:
            if not nullable:
                self.err(fld, "missing or null; expected a number")
            return None
        ok_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            kind = "an integer" if integer else "a number"
            orn = " or null" if nullable else ""
            self.err(fld, f"wrong type {type(value).__name__}; expected {kind}{orn}")
            return None
        if value < 0:
            self.err(fld, f"negative value {value}")
        return value

    def choice(self, value: str | None, fld: str, allowed: frozenset[str] | set[str], what: str) -> None:
        """Error unless ``value`` (when present) is one of ``allowed``."""
        if value is not None and value not in allowed:
            self.err(fld, f"unknown {what} '{value}'; one of {', '.join(sorted(allowed))}")

    def url(self, value: str | None, fld: str) -> None:
        if value and not value.startswith(("http://", "https://")):
            self.err(fld, f"'{value}' is not an http(s) URL")

    def records(self, data: dict[str, Any], fld: str, expected: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each mapping of the non-empty list ``data[fld]`` with its field path, e.g. ``papers[2]``."""
        if fld not in data:
            return
        raw = data.get(fld)
        if not isinstance(raw, list) or not raw:
            self.err(fld, f"expected {expected}")
            return
        for i, item in enumerate(raw):
            path = f"{fld}[{i}]"
            record = self.mapping(item, path)
            if record:
                yield path, record

    def mapping(self, value: Any, fld: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            if value is None:
                self.err(fld, "missing; expected a mapping")
            else:
                self.err(fld, f"wrong type {type(value).__name__}; expected a mapping")
            return {}
        return value


_REQUIRED_TOP = (
    "id", "code", "name", "short_name", "aliases", "field", "category", "level", "agency",
    "applicant", "counter", "steps", "submission_methods", "required_papers", "result",
    "legal_basis", "online", "sources", "date_checked", "examples",
)  # fmt: skip


def load_counter_keys(center_path: Path | None = None) -> set[str] | None:
    """Counter keys from ``config/center.yaml``; None when the file is missing or unreadable."""
    path = Path(center_path) if center_path else DEFAULT_CENTER_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("cannot read counters from %s: %s", path, exc)
        return None
    counters = data.get("counters") if isinstance(data, dict) else None
    return set(counters) if isinstance(counters, dict) else None


def _parse_record(path: Path, data: Any, counter_keys: set[str] | None) -> tuple[Procedure | None, list[KbError]]:
    c = _Checker(path.name)
    if not isinstance(data, dict):
        c.err("(file)", f"top level is {type(data).__name__}; expected a mapping of fields")
        return None, c.errors
    for key in _REQUIRED_TOP:
        if key not in data:
            c.err(key, "missing field")
    for key in data:
        if key not in _REQUIRED_TOP:
            c.err(str(key), "unknown field (typo?); see dialogue/kb/README.md")

    pid = c.text(data.get("id"), "id") if "id" in data else None
    if pid is not None:
        if not _ID_RE.match(pid):
            c.err("id", f"'{pid}' is not snake_case ASCII")
        if pid != path.stem:
            c.err("id", f"'{pid}' differs from the file name '{path.stem}'")
    code = data.get("code")
    if "code" in data:
        code = c.text(code, "code")
    name = c.text(data.get("name"), "name") if "name" in data else None
    short_name = c.text(data.get("short_name"), "short_name") if "short_name" in data else None
    aliases = c.text_list(data.get("aliases"), "aliases")
    fld = c.text(data.get("field"), "field") if "field" in data else None
    category = c.text(data.get("category"), "category") if "category" in data else None
    c.choice(category, "category", CATEGORIES, "category")
    level = c.text(data.get("level"), "level") if "level" in data else None
    agency = c.text(data.get("agency"), "agency") if "agency" in data else None
    applicant = c.text(data.get("applicant"), "applicant") if "applicant" in data else None
    counter = c.text(data.get("counter"), "counter") if "counter" in data else None
    if counter is not None and counter_keys is not None and counter not in counter_keys:
        c.err(
            "counter",
            f"unknown counter key '{counter}'; keys in config/center.yaml: {', '.join(sorted(counter_keys))}",
        )
    steps = c.text_list(data.get("steps"), "steps", min_len=1) if "steps" in data else []

    methods: list[SubmissionMethod] = []
    for p, m in c.records(data, "submission_methods", "a non-empty list"):
        method = c.text(m.get("method"), f"{p}.method")
        c.choice(method, f"{p}.method", METHODS, "method")
        pt = c.text(m.get("processing_time"), f"{p}.processing_time")
        ptd = c.number(m.get("processing_time_days"), f"{p}.processing_time_days", nullable=True)
        fee = c.text(m.get("fee"), f"{p}.fee")
        fee_vnd = c.number(m.get("fee_vnd"), f"{p}.fee_vnd", nullable=True, integer=True)
        for k in ("processing_time_days", "fee_vnd"):
            if k not in m:
                c.err(f"{p}.{k}", "missing field (use null when it varies)")
        methods.append(SubmissionMethod(method or "", pt or "", ptd, fee or "", fee_vnd))

    papers: list[Paper] = []
    for p, pp in c.records(data, "required_papers", "a non-empty list"):
        pname = c.text(pp.get("name"), f"{p}.name")
        form = c.text(pp.get("form"), f"{p}.form", nullable=True)
        ooc = c.text(pp.get("original_or_copy"), f"{p}.original_or_copy")
        c.choice(ooc, f"{p}.original_or_copy", ORIGINAL_OR_COPY, "value")
        qty = c.number(pp.get("quantity"), f"{p}.quantity", nullable=False, integer=True)
        papers.append(Paper(pname or "", form, ooc or "", int(qty or 0)))

    result = c.text(data.get("result"), "result") if "result" in data else None
    legal = c.text_list(data.get("legal_basis"), "legal_basis", min_len=1) if "legal_basis" in data else []

    online = OnlineInfo(False, "", "", False, "")
    if "online" in data:
        o = c.mapping(data.get("online"), "online")
        if o:
            avail = c.boolean(o.get("available"), "online.available")
            portal = c.text(o.get("portal"), "online.portal", allow_empty=True, nullable=True) or ""
            url = c.text(o.get("url"), "online.url", allow_empty=True, nullable=True) or ""
            c.url(url, "online.url")
            vneid = c.boolean(o.get("vneid"), "online.vneid") if "vneid" in o else False
            if "vneid" not in o:
                c.err("online.vneid", "missing field")
            note = c.text(o.get("note"), "online.note", allow_empty=True, nullable=True) or ""
            online = OnlineInfo(avail, portal, url, vneid, note)

    sources: list[Source] = []
    for p, src in c.records(data, "sources", "a non-empty list of {url, title}"):
        url = c.text(src.get("url"), f"{p}.url")
        c.url(url, f"{p}.url")
        title = c.text(src.get("title"), f"{p}.title")
        sources.append(Source(url or "", title or ""))

    date_checked = ""
    if "date_checked" in data:
        raw_date = data.get("date_checked")
        if isinstance(raw_date, _dt.date):
            raw_date = raw_date.isoformat()
        d = c.text(raw_date, "date_checked")
        if d is not None:
            try:
                if not _DATE_RE.match(d):
                    raise ValueError(d)
                _dt.date.fromisoformat(d)
                date_checked = d
            except ValueError:
                c.err("date_checked", f"bad date '{d}'; expected YYYY-MM-DD")

    examples = c.text_list(data.get("examples"), "examples") if "examples" in data else []
    if "examples" in data and len(examples) < MIN_EXAMPLES:
        c.err("examples", f"has {len(examples)} example(s); at least {MIN_EXAMPLES} required")

    if c.errors:
        return None, c.errors
    proc = Procedure(
        id=pid or "",
        code=str(code),
        name=name or "",
        short_name=short_name or "",
        aliases=aliases,
        field=fld or "",
        category=category or "",
        level=level or "",
        agency=agency or "",
        applicant=applicant or "",
        counter=counter or "",
        steps=steps,
        submission_methods=methods,
        required_papers=papers,
        result=result or "",
        legal_basis=legal,
        online=online,
        sources=sources,
        date_checked=date_checked,
        examples=examples,
        path=str(path),
    )
    return proc, []


def _read_all(kb_dir: Path, center_path: Path | None) -> tuple[dict[str, Procedure], list[KbError]]:
    kb_dir = Path(kb_dir)
    errors: list[KbError] = []
    procs: dict[str, Procedure] = {}
    if not kb_dir.is_dir():
        return {}, [KbError(str(kb_dir), "(dir)", "knowledge base folder not found")]
    counter_keys = load_counter_keys(center_path)
    if counter_keys is None:
        where = center_path or DEFAULT_CENTER_PATH
        errors.append(KbError(str(where), "counters", "cannot read counter keys (missing file or mapping)"))
    files = sorted(kb_dir.glob("*.yaml")) + sorted(kb_dir.glob("*.yml"))
    if not files:
        errors.append(KbError(str(kb_dir), "(dir)", "no procedure files (*.yaml) found"))
    seen: dict[str, str] = {}
    for path in files:
        try:
            raw = path.read_bytes().decode("utf-8")
            data = yaml.safe_load(raw)
        except UnicodeDecodeError as exc:
            errors.append(KbError(path.name, "(file)", f"not valid UTF-8: {exc.reason} at byte {exc.start}"))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or exc
            errors.append(KbError(path.name, "(file)", f"YAML syntax error{where}: {problem}"))
            continue
        except OSError as exc:
            errors.append(KbError(path.name, "(file)", f"cannot read: {exc}"))
            continue
        proc, errs = _parse_record(path, data, counter_keys)
        errors.extend(errs)
        rid = data.get("id") if isinstance(data, dict) else None
        if isinstance(rid, str):
            if rid in seen:
                errors.append(KbError(path.name, "id", f"duplicate id '{rid}' (also in {seen[rid]})"))
                continue
            seen[rid] = path.name
        if proc is not None:
            procs[proc.id] = proc
    return procs, errors


def validate_kb(kb_dir: Path | str | None = None, center_path: Path | str | None = None) -> list[KbError]:
    """Check every procedure file; return all errors (empty list = valid)."""
    kb_path = Path(kb_dir) if kb_dir else DEFAULT_KB_DIR
    _, errors = _read_all(kb_path, Path(center_path) if center_path else None)
    return errors


def load_knowledge_base(kb_dir: Path | str | None = None, center_path: Path | str | None = None) -> KnowledgeBase:
    """Load and validate the KB; raise :class:`KbInvalidError` when any file has an error."""
    kb_path = Path(kb_dir) if kb_dir else DEFAULT_KB_DIR
    procs, errors = _read_all(kb_path, Path(center_path) if center_path else None)
    if errors:
        raise KbInvalidError(errors)
    log.info("loaded %d procedures from %s", len(procs), kb_path)
    return KnowledgeBase(procedures=procs, kb_dir=kb_path)
