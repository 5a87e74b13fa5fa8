"""The center's own facts (name, opening hours, counters) from ``config/center.yaml``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dialogue.kb import DEFAULT_CENTER_PATH
from kiosk_protocol.text import nfc

__all__ = ["Center", "CenterConfigError", "Counter", "load_center"]

log = logging.getLogger("dialogue.center")


class CenterConfigError(ValueError):
    """``config/center.yaml`` is missing or malformed; the message names the file and field."""


@dataclass(frozen=True)
class Counter:
    number: int
    label: str


@dataclass
class Center:
    name: str
    address: str
    hotline: str
    opening_hours: list[dict[str, str]]
    opening_hours_spoken: str
    counters: dict[str, Counter] = field(default_factory=dict)


def load_center(path: Path | str | None = None) -> Center:
    """Read and check the center file; raise :class:`CenterConfigError` on any problem."""
    path = Path(path) if path else DEFAULT_CENTER_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CenterConfigError(f"{path}: cannot read ({exc.strerror}); restore config/center.yaml") from exc
    except yaml.YAMLError as exc:
        raise CenterConfigError(f"{path}: YAML syntax error: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("center"), dict):
        raise CenterConfigError(f"{path}: center: missing mapping 'center'")
    c = data["center"]
    raw_counters = data.get("counters")
    if not isinstance(raw_counters, dict) or not raw_counters:
        raise CenterConfigError(f"{path}: counters: missing mapping of counter keys")
    counters: dict[str, Counter] = {}
    for key, value in raw_counters.items():
        if not isinstance(value, dict) or not isinstance(value.get("number"), int) or not value.get("label"):
            raise CenterConfigError(f"{path}: counters.{key}: expected {{number: int, label: str}}")
        counters[str(key)] = Counter(int(value["number"]), nfc(str(value["label"])))
    hours = c.get("opening_hours") or []
    if not isinstance(hours, list):
        raise CenterConfigError(f"{path}: center.opening_hours: expected a list of {{days, hours}}")
    hours_list = [{"days": nfc(str(h.get("days", ""))), "hours": nfc(str(h.get("hours", "")))} for h in hours]
    spoken = c.get("opening_hours_spoken") or "; ".join(f"{h['days']}: {h['hours']}" for h in hours_list)
    return Center(
        name=nfc(str(c.get("name") or "Trung tâm Phục vụ hành chính công")),
        address=nfc(str(c.get("address") or "")),
        hotline=nfc(str(c.get("hotline") or "")),
        opening_hours=hours_list,
        opening_hours_spoken=nfc(str(spoken)),
        counters=counters,
    )
