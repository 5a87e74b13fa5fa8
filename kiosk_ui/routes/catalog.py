"""Browsing and searching the dialogue's catalog: categories, procedure cards, QR codes, print."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from kiosk_ui.app import KioskBridge
from kiosk_ui.printing import PrinterError, checklist_text, print_view_html
from kiosk_ui.qr import qr_svg
from kiosk_ui.routes.models import PrintRequest
from kiosk_ui.search import MAX_QUERY_CHARS, CatalogIndex

__all__ = ["router"]

_LOG = logging.getLogger("kiosk_ui.routes.catalog")

router = APIRouter(tags=["catalog"])

NOT_READY = ("Danh mục thủ tục chưa sẵn sàng, xin bà con chờ một chút hoặc hỏi cán bộ. / "
             "the catalog has not arrived from the dialogue node yet.")
EMPTY_QUERY = "Xin bà con gõ vài chữ của tên thủ tục, không dấu cũng được. / q is empty."


def _index(request: Request) -> CatalogIndex:
    index = request.app.state.bridge.catalog.index
    if index is None:
        raise HTTPException(status_code=503, detail=NOT_READY)
    return index


def _card(request: Request, procedure_id: str) -> tuple[CatalogIndex, Any]:
    index = _index(request)
    proc = index.procedures.get(procedure_id)
    if proc is None:
        raise HTTPException(status_code=404, detail=f"Không tìm thấy thủ tục này. / unknown procedure id "
                            f"'{procedure_id[:100]}'.")
    return index, proc


def _query(q: str) -> str:
    if len(q) > MAX_QUERY_CHARS:
        raise HTTPException(status_code=422, detail=f"Nội dung tìm quá dài (tối đa {MAX_QUERY_CHARS} ký tự). / "
                            f"q has {len(q)} characters; the limit is {MAX_QUERY_CHARS}.")
    if not q.strip():
        raise HTTPException(status_code=422, detail=EMPTY_QUERY)
    return q


@router.get("/api/catalog")
async def catalog(request: Request) -> dict[str, Any]:
    """Categories and procedures for the home screen and the lists (cards and search keys stay here)."""
    cat = _index(request).catalog
    return {
        "version": cat.version,
        "center_name": cat.center_name,
        "center": cat.center,
        "categories": [c.model_dump() for c in cat.categories],
        "procedures": [{"id": p.id, "label": p.label, "name": p.name, "category": p.category}
                       for p in cat.procedures],
    }


@router.get("/api/procedures/{procedure_id}")
async def procedure(procedure_id: str, request: Request) -> dict[str, Any]:
    _, proc = _card(request, procedure_id)
    return {"id": proc.id, "label": proc.label, "name": proc.name, "category": proc.category, "card": proc.card}


@router.get("/api/procedures/{procedure_id}/qr.svg")
async def procedure_qr(procedure_id: str, request: Request) -> Response:
    """The QR code of the procedure's online link, for the citizen's phone (generated here, offline)."""
    _, proc = _card(request, procedure_id)
    online = proc.card.get("online") or {}
    if not online.get("available") or not online.get("url"):
        raise HTTPException(status_code=404, detail="Thủ tục này chưa làm trực tuyến được. / no online link.")
    return Response(qr_svg(str(online["url"])), media_type="image/svg+xml",
                    headers={"Cache-Control": "max-age=3600"})


@router.get("/api/search")
async def search(request: Request, q: str = Query(default=""), limit: int = Query(default=8, ge=1, le=32)
                 ) -> dict[str, Any]:
    """Procedures matching what was typed so far, best first (folded with the dialogue's fold_key)."""
    index = _index(request)
    hits = index.search(_query(q), limit=limit)
    return {"query": q, "version": index.catalog.version, "results": [h.__dict__ for h in hits]}


@router.get("/api/suggest")
async def suggest(request: Request, q: str = Query(default=""), limit: int = Query(default=3, ge=1, le=8)
                  ) -> dict[str, Any]:
    """Procedures a whole sentence names, for "Có phải bà con muốn hỏi" when the kiosk is unsure."""
    index = _index(request)
    if len(q) > MAX_QUERY_CHARS * 5:
        q = q[: MAX_QUERY_CHARS * 5]
    if not q.strip():
        raise HTTPException(status_code=422, detail=EMPTY_QUERY)
    return {"query": q, "results": [h.__dict__ for h in index.suggest(q, limit=limit)]}


@router.get("/print/{procedure_id}", response_class=HTMLResponse)
async def print_view(procedure_id: str, request: Request) -> HTMLResponse:
    """The take-home checklist as one A4 page."""
    index, proc = _card(request, procedure_id)
    return HTMLResponse(print_view_html(proc.card, proc.label, index.catalog.center_name),
                        headers={"Cache-Control": "no-store"})


@router.post("/api/print", status_code=202)
async def print_checklist(body: PrintRequest, request: Request) -> dict[str, str]:
    """Send the checklist to the kiosk's printer (``lp``)."""
    bridge: KioskBridge = request.app.state.bridge
    if bridge.printer is None:
        raise HTTPException(status_code=409, detail="Robot không có máy in. / no CUPS printer on this kiosk.")
    index, proc = _card(request, body.procedure_id)
    text = checklist_text(proc.card, proc.label, index.catalog.center_name)
    try:
        job = await asyncio.to_thread(bridge.printer.submit, text, proc.label)
    except PrinterError as exc:
        _LOG.warning("printing failed: %s", exc)
        raise HTTPException(status_code=503, detail=f"Máy in đang gặp sự cố, xin bà con hỏi cán bộ. / {exc}"
                            ) from exc
    return {"job": job, "printer": bridge.printer.name}
