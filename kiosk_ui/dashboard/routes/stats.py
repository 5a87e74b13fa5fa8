"""Statistics as JSON, SVG charts and CSV exports, per kiosk or for the whole center."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from kiosk_ui.dashboard import charts
from kiosk_ui.dashboard.accounts import WebSession
from kiosk_ui.dashboard.core import Dashboard
from kiosk_ui.dashboard.deps import client_address, get_dashboard, get_kb, require
from kiosk_ui.dashboard.kb_client import KbClient
from kiosk_ui.dashboard.stats import CSV_DATASETS, Period, Stats

__all__ = ["router"]

router = APIRouter(prefix="/api/stats", tags=["stats"])
Staff = Annotated[WebSession, Depends(require("staff"))]
Core = Annotated[Dashboard, Depends(get_dashboard)]
Days = Annotated[int, Query(ge=1, le=3660)]
KioskFilter = Annotated[str, Query(max_length=100)]
CHARTS = ("by_day", "by_hour", "procedures", "sources", "ratings", "escalations")
_REASONS = {"visitor_request": "Người dân yêu cầu", "repeated_failures": "Không hiểu nhiều lần",
            "dialogue_error": "Lỗi hệ thống"}


def _stats(dashboard: Dashboard) -> Stats:
    return Stats(dashboard.db, dashboard.settings.utc_offset_hours)


def _names(kb: KbClient) -> dict[str, str]:
    try:
        return {r["id"]: r["name"] for r in kb.list_records()}
    except OSError:
        return {}


@router.get("/summary")
def summary(_: Staff, dashboard: Core, kb: Annotated[KbClient, Depends(get_kb)], days: Days = 7,
            kiosk: KioskFilter = "") -> dict[str, Any]:
    result = _stats(dashboard).summary(Period.last_days(days, kiosk))
    names = _names(kb)
    for row in result["top_procedures"]:
        row["name"] = names.get(row["procedure_id"], row["procedure_id"])
    result["kiosks"] = dashboard.live.kiosks
    return result


@router.get("/unanswered")
def unanswered(_: Staff, dashboard: Core, days: Days = 30, kiosk: KioskFilter = "",
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return _stats(dashboard).unanswered(Period.last_days(days, kiosk), limit)


@router.get("/chart/{name}.svg")
def chart(name: str, _: Staff, dashboard: Core, kb: Annotated[KbClient, Depends(get_kb)], days: Days = 7,
          kiosk: KioskFilter = "") -> Response:
    if name not in CHARTS:
        raise HTTPException(404, f"unknown chart '{name}'; one of {', '.join(CHARTS)}")
    data = _stats(dashboard).summary(Period.last_days(days, kiosk))
    where = kiosk or "toàn trung tâm"
    if name == "by_day":
        svg = charts.bar_chart(f"Câu hỏi mỗi ngày ({where})", [d["day"][5:] for d in data["by_day"]],
                               [d["questions"] for d in data["by_day"]], label_every=max(1, len(data["by_day"]) // 10))
    elif name == "by_hour":
        svg = charts.bar_chart(f"Câu hỏi theo giờ trong ngày ({where}, {days} ngày)", [f"{h}h" for h in range(24)],
                               data["by_hour_of_day"], label_every=2)
    elif name == "procedures":
        names = _names(kb)
        top = data["top_procedures"]
        svg = charts.hbar_chart(f"Thủ tục được hỏi nhiều nhất ({where})",
                                [names.get(r["procedure_id"], r["procedure_id"]) for r in top],
                                [r["questions"] for r in top])
    elif name == "sources":
        svg = charts.hbar_chart(f"Hỏi bằng giọng nói / gõ phím ({where})", ["Giọng nói", "Gõ trên màn hình"],
                                [data["spoken"], data["typed"]], color="#6b8e23")
    elif name == "ratings":
        svg = charts.hbar_chart(f"Mức độ hài lòng ({where})", [f"{s} sao" for s in range(5, 0, -1)],
                                [data["ratings"][str(s)] for s in range(5, 0, -1)], color="#d98c00")
    else:
        reasons = data["escalations"]
        svg = charts.hbar_chart(f"Yêu cầu gặp cán bộ ({where})", [_REASONS.get(k, k) for k in reasons],
                                list(reasons.values()), color="#b03a2e")
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/export.csv")
def export_csv(request: Request, session: Annotated[WebSession, Depends(require("staff"))], dashboard: Core,
               dataset: Annotated[str, Query(max_length=20)] = "daily", days: Days = 30,
               kiosk: KioskFilter = "") -> Response:
    if dataset not in CSV_DATASETS:
        raise HTTPException(422, f"dataset must be one of {', '.join(CSV_DATASETS)}")
    text = _stats(dashboard).csv(dataset, Period.last_days(days, kiosk))
    dashboard.audit.log(session.account.username, "export_csv", dataset, f"days={days} kiosk={kiosk or '*'}",
                        client_address(request))
    # a header is Latin-1: anything but letters, digits, dot, dash becomes "_" (also no quote or newline)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"kiosk-{dataset}-{kiosk or 'center'}-{days}d.csv")
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
