"""Key expressions of the province view: ``kiosk/<province>/<center>/<kiosk>/<what>``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk_protocol.text import fold_key

ROOT = "kiosk"
KINDS = ("health", "escalation", "stats")


def key_id(name: str) -> str:
    """A name as one key-expression chunk: 'Phường Ba Đình' → 'phuong-ba-dinh'."""
    chunk = re.sub(r"[^a-z0-9]+", "-", fold_key(name)).strip("-")
    if not chunk:
        raise ValueError(f"'{name}' gives an empty key-expression chunk; use letters or digits")
    return chunk


@dataclass(frozen=True)
class FleetKeys:
    province: str
    center: str

    @classmethod
    def of(cls, province: str, center: str) -> FleetKeys:
        return cls(key_id(province), key_id(center))

    @property
    def center_prefix(self) -> str:
        return f"{ROOT}/{self.province}/{self.center}"

    def kiosk(self, kiosk: str, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind}; known: {KINDS}")
        return f"{self.center_prefix}/{key_id(kiosk)}/{kind}"

    @property
    def alive(self) -> str:
        return f"{self.center_prefix}/alive"


def parse_key(key: str) -> tuple[str, str, str, str] | None:
    """(province, center, kiosk, kind) of a kiosk key, or None for other keys."""
    parts = key.split("/")
    if len(parts) == 5 and parts[0] == ROOT and parts[4] in KINDS:
        return parts[1], parts[2], parts[3], parts[4]
    return None
