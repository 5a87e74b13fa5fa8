"""Accounts and the audit log (admins only)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from kiosk_ui.dashboard.accounts import Account, AccountError, WebSession
from kiosk_ui.dashboard.core import Dashboard
from kiosk_ui.dashboard.db import StorageFull
from kiosk_ui.dashboard.deps import client_address, get_dashboard, require

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["accounts"])
Admin = Annotated[WebSession, Depends(require("admin"))]
Core = Annotated[Dashboard, Depends(get_dashboard)]


class AccountOut(BaseModel):
    username: str
    display_name: str
    role: str
    disabled: bool
    created_unix_s: float
    last_login_unix_s: float | None

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(username=a.username, display_name=a.display_name, role=a.role, disabled=a.disabled,
                   created_unix_s=a.created_unix_s, last_login_unix_s=a.last_login_unix_s)


class NewAccount(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(default="", max_length=100)
    role: Literal["staff", "technician", "admin"] = "staff"
    password: str = Field(min_length=1, max_length=1024)


class AuditEntry(BaseModel):
    unix_s: float
    username: str
    action: str
    target: str
    detail: str
    address: str


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(_: Admin, dashboard: Core) -> list[AccountOut]:
    return [AccountOut.of(a) for a in dashboard.accounts.list()]


@router.post("/accounts", response_model=AccountOut, status_code=201)
def add_account(body: NewAccount, request: Request, session: Admin, dashboard: Core) -> AccountOut:
    try:
        account = dashboard.accounts.create(body.username, body.display_name, body.role, body.password)
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    except StorageFull as exc:
        raise HTTPException(507, str(exc)) from exc
    dashboard.audit.log(session.account.username, "account_add", account.username, f"role={account.role}",
                        client_address(request))
    return AccountOut.of(account)


def _set_disabled(username: str, disabled: bool, request: Request, session: WebSession,
                  dashboard: Dashboard) -> AccountOut:
    if disabled and username == session.account.username:
        raise HTTPException(422, "Không thể tự khóa tài khoản của mình. / you cannot disable your own account.")
    try:
        account = dashboard.accounts.set_disabled(username, disabled)
    except KeyError as exc:
        raise HTTPException(404, f"Không có tài khoản '{username}'. / no account '{username}'.") from exc
    except StorageFull as exc:
        raise HTTPException(507, str(exc)) from exc
    dashboard.audit.log(session.account.username, "account_disable" if disabled else "account_enable",
                        account.username, address=client_address(request))
    return AccountOut.of(account)


@router.post("/accounts/{username}/disable", response_model=AccountOut)
def disable_account(username: str, request: Request, session: Admin, dashboard: Core) -> AccountOut:
    return _set_disabled(username, True, request, session, dashboard)


@router.post("/accounts/{username}/enable", response_model=AccountOut)
def enable_account(username: str, request: Request, session: Admin, dashboard: Core) -> AccountOut:
    return _set_disabled(username, False, request, session, dashboard)


@router.get("/audit", response_model=list[AuditEntry])
def audit_log(_: Admin, dashboard: Core, limit: Annotated[int, Query(ge=1)] = 200) -> list[AuditEntry]:
    return [AuditEntry(**{k: e[k] for k in AuditEntry.model_fields}) for e in dashboard.audit.recent(min(limit, 1000))]
