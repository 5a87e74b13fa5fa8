"""Knowledge-base editing: open, check, save (previous version kept), retrain, add an unanswered question.

Reading and adding an unanswered question as an example are open to every staff member; editing
records and retraining need the technician role. All changes go through ``python -m dialogue``.
"""

from __future__ import annotations

import contextlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kiosk_ui.dashboard.accounts import WebSession
from kiosk_ui.dashboard.core import Dashboard
from kiosk_ui.dashboard.db import StorageFull
from kiosk_ui.dashboard.deps import client_address, get_dashboard, get_kb, get_train_job, require
from kiosk_ui.dashboard.kb_client import KbClient, KbClientError, TrainJob

__all__ = ["router"]

router = APIRouter(prefix="/api/kb", tags=["kb"])
Staff = Annotated[WebSession, Depends(require("staff"))]
Technician = Annotated[WebSession, Depends(require("technician"))]
Core = Annotated[Dashboard, Depends(get_dashboard)]
Kb = Annotated[KbClient, Depends(get_kb)]
MAX_RECORD_CHARS = 100_000


class RecordText(BaseModel):
    yaml: str = Field(max_length=MAX_RECORD_CHARS)
    base_sha256: str = Field(default="", max_length=64)  # of the text the editor opened; "" skips the check


class NewExample(BaseModel):
    procedure_id: str = Field(min_length=1, max_length=100)
    message_id: str = Field(default="", max_length=100)  # an unanswered turn; its question is the example
    question: str = Field(default="", max_length=300)  # or the question itself


def _missing(record_id: str) -> HTTPException:
    return HTTPException(404, f"Không có hồ sơ thủ tục '{record_id}'. / no KB record '{record_id}'.")


def _cli_failed(exc: KbClientError) -> HTTPException:
    return HTTPException(502, f"Không chạy được công cụ của phần hội thoại. / {exc}")


@router.get("/records")
def records(_: Staff, kb: Kb) -> list[dict[str, Any]]:
    return kb.list_records()


@router.get("/records/{record_id}")
def record(record_id: str, _: Staff, kb: Kb) -> dict[str, Any]:
    import hashlib

    try:
        text = kb.read(record_id)
    except KeyError as exc:
        raise _missing(record_id) from exc
    return {"id": record_id, "yaml": text, "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "history": kb.history(record_id)}


@router.post("/records/{record_id}/validate")
async def validate(record_id: str, body: RecordText, _: Technician, kb: Kb) -> dict[str, Any]:
    try:
        return await run_in_threadpool(kb.validate, record_id, body.yaml)
    except KeyError as exc:
        raise _missing(record_id) from exc
    except KbClientError as exc:
        raise _cli_failed(exc) from exc


@router.put("/records/{record_id}")
async def save(record_id: str, body: RecordText, request: Request, session: Technician, kb: Kb,
               dashboard: Core) -> dict[str, Any]:
    try:
        result = await run_in_threadpool(kb.save, record_id, body.yaml, body.base_sha256 or None)
    except KeyError as exc:
        raise _missing(record_id) from exc
    except KbClientError as exc:
        raise _cli_failed(exc) from exc
    if result.get("conflict"):
        raise HTTPException(409, "Hồ sơ đã được người khác sửa; tải lại rồi sửa tiếp. / the record changed meanwhile.")
    action = "kb_save" if result.get("ok") else "kb_save_rejected"
    detail = "" if result.get("ok") else "; ".join(f"{e['field']}: {e['reason']}" for e in result["errors"][:5])
    dashboard.audit.log(session.account.username, action, record_id, detail, client_address(request))
    return result


@router.post("/examples")
async def add_example(body: NewExample, request: Request, session: Staff, kb: Kb, dashboard: Core) -> dict[str, Any]:
    question = body.question.strip()
    if body.message_id:
        row = dashboard.db.query_one("SELECT user_text FROM turns WHERE message_id = ?", (body.message_id,))
        if row is None:
            raise HTTPException(404, "Không còn câu hỏi này (đã quá hạn lưu?). / no such stored question.")
        question = row["user_text"]
    if not question:
        raise HTTPException(422, "Cần câu hỏi hoặc message_id. / give a question or a message_id.")
    try:
        result = await run_in_threadpool(kb.add_example, body.procedure_id, question)
    except KeyError as exc:
        raise _missing(body.procedure_id) from exc
    except KbClientError as exc:
        raise _cli_failed(exc) from exc
    if result.get("ok") and body.message_id:
        with contextlib.suppress(StorageFull):
            dashboard.db.write(lambda c: c.execute(
                "INSERT OR IGNORE INTO kb_examples_added(message_id, procedure_id, username, unix_s) "
                "VALUES (?, ?, ?, ?)", (body.message_id, body.procedure_id, session.account.username, time.time())))
    dashboard.audit.log(session.account.username, "kb_add_example" if result.get("ok") else "kb_add_example_rejected",
                        body.procedure_id, question[:200], client_address(request))
    return {**result, "question": question, "needs_training": bool(result.get("added"))}


@router.post("/train", status_code=202)
def train(request: Request, session: Technician, dashboard: Core,
          job: Annotated[TrainJob, Depends(get_train_job)]) -> dict[str, Any]:
    if not job.start(session.account.username):
        raise HTTPException(409, "Đang huấn luyện; chờ xong rồi thử lại. / training is already running.")
    dashboard.audit.log(session.account.username, "kb_train", address=client_address(request))
    return job.status()


@router.get("/train")
def train_status(_: Staff, job: Annotated[TrainJob, Depends(get_train_job)]) -> dict[str, Any]:
    return job.status()
