"""Request/response models shared by the HTTP and WebSocket routes, and the input hand-off."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import Request, WebSocket
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk_protocol import UserInput
from kiosk_protocol.text import nfc
from kiosk_ui.app import UiSettings
from kiosk_ui.hub import EventHub

__all__ = [
    "MAX_ADDRESS_CHARS",
    "MAX_TEXT_CHARS",
    "AskAccepted",
    "AskRequest",
    "InputRequest",
    "PrintRequest",
    "PushToTalkRequest",
    "RatingRequest",
    "SessionRequest",
    "deliver_input",
    "unknown_procedure",
]

_LOG = logging.getLogger("kiosk_ui.routes.models")

MAX_TEXT_CHARS = 10_000
MAX_ADDRESS_CHARS = 200
_VI_MAX = f"{MAX_TEXT_CHARS:,}".replace(",", ".")  # Vietnamese digit grouping: 10.000
EMPTY_TEXT_MESSAGE = (
    "Câu hỏi đang trống. Xin bà con nhập câu hỏi rồi bấm Gửi. / "
    "text is empty or only whitespace: send a non-blank question."
)


class _PageRequest(BaseModel):
    """Base of what the page sends: text must be valid Unicode (JSON can carry a lone surrogate
    escape such as "\\ud800", which no later step could encode)."""

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: object) -> object:
        for name, value in data.items() if isinstance(data, dict) else ():
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError(f"Dữ liệu có ký tự không hợp lệ. / field '{str(name)[:50]}' is not valid "
                                     "Unicode (a lone surrogate).") from None
        return data


class AskRequest(_PageRequest):
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


def _check_text(value: str) -> str:
    return AskRequest._clean(value)


class InputRequest(_PageRequest):
    """Anything the page sends to the dialogue: a question, a touched procedure, "Nghe lại", an address."""

    model_config = ConfigDict(extra="ignore")
    action: Literal["text", "select_procedure", "repeat", "lookup_address"] = "text"
    text: str = ""
    procedure_id: str = Field(default="", max_length=100)
    session_id: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _check(self) -> InputRequest:
        if self.action == "text":
            self.text = _check_text(self.text)
        elif self.action == "lookup_address":
            if len(self.text) > MAX_ADDRESS_CHARS:
                raise ValueError(f"Địa chỉ quá dài (tối đa {MAX_ADDRESS_CHARS} ký tự). / address has "
                                 f"{len(self.text)} characters; the limit is {MAX_ADDRESS_CHARS}.")
            self.text = nfc(self.text).strip()
            if not self.text:
                raise ValueError("Xin bà con nhập địa chỉ cũ: phường hoặc xã, quận hoặc huyện, tỉnh hoặc thành phố. "
                                 "/ address is empty.")
        elif self.action == "select_procedure" and not self.procedure_id.strip():
            raise ValueError("Chưa chọn thủ tục. / procedure_id is required for select_procedure.")
        return self


class RatingRequest(_PageRequest):
    """One touch on a face: 1 (very unhappy) to 5 (very happy)."""

    model_config = ConfigDict(extra="ignore")
    score: int
    reply_id: str = Field(default="", max_length=100)
    procedure_id: str | None = Field(default=None, max_length=100)
    trigger: Literal["after_answer", "restart", "end"] = "after_answer"
    session_id: str | None = Field(default=None, max_length=200)

    @field_validator("score")
    @classmethod
    def _one_to_five(cls, value: int) -> int:
        if not 1 <= value <= 5:
            raise ValueError(f"Điểm đánh giá từ 1 đến 5. / score must be 1 to 5, got {value}.")
        return value


class PushToTalkRequest(_PageRequest):
    pressed: bool


class PrintRequest(_PageRequest):
    procedure_id: str = Field(min_length=1, max_length=100)


class AskAccepted(BaseModel):
    input_id: str
    session_id: str


class SessionRequest(_PageRequest):
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


def unknown_procedure(conn: Request | WebSocket, procedure_id: str) -> str | None:
    """The error message when the catalog is known and has no such procedure, else None."""
    index = conn.app.state.bridge.catalog.index
    if index is None or procedure_id in index.procedures:
        return None
    return f"Không tìm thấy thủ tục này. Xin bà con chọn lại. / unknown procedure id '{procedure_id[:100]}'."


def session_for(conn: Request | WebSocket, requested: str | None) -> str:
    settings: UiSettings = conn.app.state.settings
    return nfc(requested) if requested else settings.session_id
