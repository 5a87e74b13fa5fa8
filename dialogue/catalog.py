"""The touchscreen's catalog of the knowledge base (``kiosk_protocol.Catalog``).

The dialogue owns the knowledge base; the page browses and searches it through this catalog,
published by the dialogue node on the latched ``dialogue/catalog`` topic. Every search key is
folded with :func:`kiosk_protocol.text.fold_key`, the one folding rule the page's search folds
queries with too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from dialogue.center import Center
from dialogue.kb import CATEGORIES, KnowledgeBase
from dialogue.replies import candidate, procedure_card
from kiosk_protocol import Catalog, CatalogCategory, CatalogProcedure
from kiosk_protocol.text import fold_key

__all__ = ["CATEGORY_ORDER", "CategoryInfo", "build_catalog"]


@dataclass(frozen=True)
class CategoryInfo:
    label: str  # shown on the home screen
    icon: str  # file name under kiosk_ui/static/icons/


# Home-screen order: the most asked families first.
CATEGORY_ORDER: dict[str, CategoryInfo] = {
    "civil_status": CategoryInfo("Hộ tịch: khai sinh, kết hôn, khai tử", "civil_status.svg"),
    "certification": CategoryInfo("Chứng thực, sao y giấy tờ", "certification.svg"),
    "residence": CategoryInfo("Cư trú: thường trú, tạm trú", "residence.svg"),
    "identity": CategoryInfo("Căn cước, định danh VNeID", "identity.svg"),
    "business": CategoryInfo("Hộ kinh doanh", "business.svg"),
    "social_protection": CategoryInfo("Bảo trợ xã hội, hộ nghèo", "social_protection.svg"),
    "health_insurance": CategoryInfo("Bảo hiểm y tế", "health_insurance.svg"),
    "land": CategoryInfo("Đất đai, sổ đỏ", "land.svg"),
    "construction": CategoryInfo("Xây dựng, sửa nhà", "construction.svg"),
    "judicial_record": CategoryInfo("Lý lịch tư pháp", "judicial_record.svg"),
}
assert set(CATEGORY_ORDER) == set(CATEGORIES), "every KB category needs a label and an icon"


def _folded(phrases: list[str]) -> list[str]:
    return list(dict.fromkeys(k for k in (fold_key(p) for p in phrases) if k))


def _center_facts(center: Center) -> dict:
    return {
        "name": center.name,
        "address": center.address,
        "hotline": center.hotline,
        "opening_hours": [dict(h) for h in center.opening_hours],
        "counters": [{"number": c.number, "label": c.label}
                     for c in sorted(center.counters.values(), key=lambda c: c.number)],
    }


def build_catalog(kb: KnowledgeBase, center: Center) -> Catalog:
    """Categories (home-screen order, only those with procedures), procedures with cards and keys.

    ``version`` is a hash of the content, so it changes exactly when the KB or the center does.
    """
    procs = sorted(kb.procedures.values(), key=lambda p: (list(CATEGORY_ORDER).index(p.category), p.id))
    procedures = []
    for proc in procs:
        label = candidate(proc)["label"]
        # the page's names first (colloquial label, official name, short name), then every alias:
        # the old names citizens still use ("hộ khẩu", "sổ đỏ", "chứng minh nhân dân") are aliases
        keys = _folded([label, proc.name, proc.short_name, *proc.aliases])
        examples = [e for e in _folded(proc.examples) if e not in keys]
        procedures.append(CatalogProcedure(
            id=proc.id, label=label, name=proc.name, category=proc.category,
            search_keys=keys, search_examples=examples, card=procedure_card(proc, center, None),
        ))
    categories = [
        CatalogCategory(id=cid, label=info.label, icon=info.icon,
                        procedure_ids=[p.id for p in procedures if p.category == cid])
        for cid, info in CATEGORY_ORDER.items()
    ]
    categories = [c for c in categories if c.procedure_ids]
    facts = _center_facts(center)
    body = json.dumps([facts, [c.model_dump() for c in categories], [p.model_dump() for p in procedures]],
                      ensure_ascii=False, sort_keys=True)
    version = hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]
    return Catalog(version=version, center_name=center.name, center=facts, categories=categories,
                   procedures=procedures)
