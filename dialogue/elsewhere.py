"""Procedures done elsewhere (passport, driving licence, ...): say where instead of refusing.

Read from ``dialogue/kb/elsewhere.yaml``; a phrase matches as whole words of the folded text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from kiosk_protocol.text import fold_key

__all__ = ["DEFAULT_ELSEWHERE_PATH", "Elsewhere", "find_elsewhere", "load_elsewhere"]

log = logging.getLogger(__name__)

DEFAULT_ELSEWHERE_PATH = Path(__file__).resolve().parent / "kb" / "elsewhere.yaml"


@dataclass(frozen=True)
class Elsewhere:
    id: str
    name: str
    where: str
    online: str
    pattern: re.Pattern


def load_elsewhere(path: Path = DEFAULT_ELSEWHERE_PATH) -> list[Elsewhere]:
    """The entries of ``elsewhere.yaml``; a missing or broken file gives none (and a warning)."""
    try:
        items = (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("elsewhere") or []
        out = []
        for item in items:
            phrases = sorted({fold_key(p) for p in item["phrases"] if fold_key(p)}, key=len, reverse=True)
            pattern = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b")
            out.append(Elsewhere(str(item["id"]), str(item["name"]), str(item["where"]), str(item.get("online", "")),
                                 pattern))
        return out
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        log.warning("procedures-done-elsewhere list %s unusable (%s): the kiosk will refuse them plainly", path, exc)
        return []


def find_elsewhere(text: str, entries: list[Elsewhere]) -> Elsewhere | None:
    """The first entry one of whose phrases the text contains."""
    f = fold_key(text)
    return next((e for e in entries if e.pattern.search(f)), None)
