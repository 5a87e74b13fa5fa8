"""The one JSON schema for rich payloads on ``std_msgs/String`` topics.

Every message is a Pydantic model with a ``kind`` tag and a schema version. Nodes and the UI
serialize with :func:`encode` and parse with :func:`decode`; nothing else builds these JSON
strings by hand. Times are POSIX seconds (``*_unix_s``), durations seconds (``*_s``) or
milliseconds (``*_ms``).

Topics (relative to the kiosk namespace):

=====================  ===============  =======================================
topic                  kind             from → to
=====================  ===============  =======================================
audio/utterance        utterance        microphone → asr
speech/transcript      transcript       asr → dialogue, ui
ui/input               user_input       ui → dialogue
dialogue/reply         reply            dialogue → tts, ui
dialogue/escalation    escalation       dialogue → ui (staff)
speech/spoken          spoken           tts → ui, benchmarks
=====================  ===============  =======================================

States use ``std_msgs/Bool``: ``audio/speaking`` (a visitor is talking) and
``speech/robot_speaking`` (latched; the kiosk is talking, the microphone path is muted).
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from kiosk_protocol.text import nfc

__all__ = [
    "SCHEMA_VERSION",
    "Escalation",
    "Message",
    "ProtocolError",
    "Reply",
    "Spoken",
    "Transcript",
    "UserInput",
    "Utterance",
    "decode",
    "encode",
    "new_id",
    "nfc",
]

SCHEMA_VERSION = 1


class ProtocolError(ValueError):
    """A payload that does not follow this schema."""


def new_id() -> str:
    """A short random id for utterances, replies and sessions."""
    return uuid.uuid4().hex[:12]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION


class Utterance(_Base):
    """One cut utterance: 16 kHz mono signed 16-bit PCM, base64 encoded."""

    kind: Literal["utterance"] = "utterance"
    utterance_id: str = Field(default_factory=new_id)
    sample_rate_hz: int = 16000
    pcm_s16le_b64: str
    start_unix_s: float
    end_of_speech_unix_s: float
    source: str = "microphone"

    @classmethod
    def from_samples(cls, samples: np.ndarray, **fields: Any) -> Utterance:
        """Build from float32 samples in [-1, 1] or int16 samples."""
        if samples.dtype != np.int16:
            samples = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
        return cls(pcm_s16le_b64=base64.b64encode(samples.astype("<i2").tobytes()).decode(), **fields)

    def samples(self) -> np.ndarray:
        """The audio as float32 samples in [-1, 1]."""
        raw = np.frombuffer(base64.b64decode(self.pcm_s16le_b64), dtype="<i2")
        return raw.astype(np.float32) / 32768.0

    @property
    def duration_s(self) -> float:
        return len(base64.b64decode(self.pcm_s16le_b64)) / 2 / self.sample_rate_hz


class Transcript(_Base):
    """What the ASR heard. ``accepted`` is False for no-speech, low-confidence or hallucinated text."""

    kind: Literal["transcript"] = "transcript"
    utterance_id: str
    text: str
    confidence: float = Field(ge=0.0, le=1.0)
    hypotheses: list[tuple[str, float]] = Field(default_factory=list)  # N-best (text, confidence), top first
    no_speech_prob: float = 0.0
    language: str = "vi"
    accepted: bool = True
    reject_reason: str = ""
    audio_duration_s: float = 0.0
    asr_s: float = 0.0
    end_of_speech_unix_s: float | None = None
    published_unix_s: float = Field(default_factory=time.time)

    _nfc = field_validator("text")(lambda cls, v: nfc(v))
    _nfc_hypotheses = field_validator("hypotheses")(lambda cls, v: [(nfc(t), c) for t, c in v])


class UserInput(_Base):
    """Touchscreen input: a typed question, or a session start/end."""

    kind: Literal["user_input"] = "user_input"
    input_id: str = Field(default_factory=new_id)
    session_id: str = ""
    action: Literal["text", "start_session", "end_session"] = "text"
    text: str = Field(default="", max_length=10_000)
    sent_unix_s: float = Field(default_factory=time.time)

    _nfc = field_validator("text")(lambda cls, v: nfc(v))


class Reply(_Base):
    """The kiosk's answer: a short spoken form and a full screen card."""

    kind: Literal["reply"] = "reply"
    reply_id: str = Field(default_factory=new_id)
    in_reply_to: str = ""
    session_id: str = ""
    source: Literal["voice", "screen", "system"] = "voice"
    user_text: str = ""
    intent: str
    confidence: float = 0.0
    procedure_id: str | None = None
    reply_voice: str
    reply_screen: dict[str, Any] = Field(default_factory=dict)
    escalate: bool = False
    escalation_reason: str = ""
    dialogue_ms: float = 0.0
    end_of_speech_unix_s: float | None = None
    published_unix_s: float = Field(default_factory=time.time)


class Escalation(_Base):
    """A hand-over to a staff member, with the reason."""

    kind: Literal["escalation"] = "escalation"
    session_id: str
    reason: str
    user_text: str = ""
    reply_id: str = ""
    unix_s: float = Field(default_factory=time.time)


class Spoken(_Base):
    """What the speaker (or the simulated speaker) did with one reply."""

    kind: Literal["spoken"] = "spoken"
    reply_id: str
    voice: str
    sentences: int
    audio_duration_s: float
    synth_s: float
    first_audio_unix_s: float
    done_unix_s: float
    end_of_speech_unix_s: float | None = None
    wav_paths: list[str] = Field(default_factory=list)


Message = Annotated[
    Utterance | Transcript | UserInput | Reply | Escalation | Spoken, Field(discriminator="kind")
]
_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


def encode(message: _Base) -> str:
    """Serialize a message to the JSON carried in ``std_msgs/String.data``."""
    return message.model_dump_json()


def decode(data: str, expected: type[_Base] | None = None) -> Message:
    """Parse and validate a JSON payload; raise :class:`ProtocolError` with the reason."""
    try:
        message = _ADAPTER.validate_json(data)
    except Exception as exc:  # pydantic.ValidationError or a JSON error
        raise ProtocolError(f"invalid kiosk message: {exc}".splitlines()[0]) from exc
    if message.schema_version != SCHEMA_VERSION:
        raise ProtocolError(f"schema_version {message.schema_version} is not {SCHEMA_VERSION}")
    if expected is not None and not isinstance(message, expected):
        raise ProtocolError(f"expected a {expected.__name__}, got kind={message.kind!r}")
    return message
