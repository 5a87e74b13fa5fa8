"""Request/response models shared by the HTTP and WebSocket routes, and the input hand-off."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import Request, WebSocket
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kiosk_protocol import UserInput
from kiosk_protocol.text import nfc
from kiosk_ui.app import UiSettings
from kiosk_ui.hub import EventHub

__all__ = ["MAX_TEXT_CHARS", "AskAccepted", "AskRequest", "SessionRequest", "deliver_input"]

_LOG = logging.getLogger("kiosk_ui.routes.models")

MAX_TEXT_CHARS = 10_000
_VI_MAX = f"{MAX_TEXT_CHARS:,}".replace(",", ".")  # Vietnamese digit grouping: 10.000
EMPTY_TEXT_MESSAGE = (
    "Câu hỏi đang trống. Xin bà con nhập câu hỏi rồi bấm Gửi. / "
    "text is empty or only whitespace: send a non-blank question."
)


class AskRequest(BaseModel):
    """A typed question from the page."""

    model_config = ConfigDict(extra="ignore")
    text: str
    session_id: str | None = Field(default=None, max_length=200)

    @field_validator("text")
    @classmethod
    def _clean(cls, value: str) -> str:
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(
                f"Câu hỏi quá dài (tối đa {_VI_MAX} ký tự). Xin bà con hỏi ngắn gọn hơn. / "
                f"text has {len(value)} characters; the limit is {MAX_TEXT_CHARS}."
            )
        value = nfc(value).strip()
        if not value:
            raise ValueError(EMPTY_TEXT_MESSAGE)
        return value


class AskAccepted(BaseModel):
    input_id: str
    session_id: str


class SessionRequest(BaseModel):
    action: Literal["start", "end"]
    session_id: str | None = Field(default=None, max_length=200)


def deliver_input(conn: Request | WebSocket, msg: UserInput) -> None:
    """Hand one input to the app's ``on_input`` and echo it to every page through the hub.

    Raises ``RuntimeError`` (with the cause) when the callback fails.
    """
    state = conn.app.state
    hub: EventHub = state.hub
    try:
        state.on_input(msg)
    except Exception as exc:
        _LOG.exception("on_input failed for %s", msg.input_id)
        raise RuntimeError(f"on_input callback failed: {exc}") from exc
    if msg.action == "text":
        hub.publish(msg)
    elif msg.action == "end_session":
        hub.clear()


def session_for(conn: Request | WebSocket, requested: str | None) -> str:
    settings: UiSettings = conn.app.state.settings
    return nfc(requested) if requested else settings.session_id
