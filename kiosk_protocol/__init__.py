"""The one JSON schema for rich payloads on ``std_msgs/String`` topics.

Every message is a Pydantic model with a ``kind`` tag and a schema version. Nodes and the UI
serialize with :func:`encode` and parse with :func:`decode`; nothing else builds these JSON
strings by hand. Times are POSIX seconds (``*_unix_s``), durations seconds (``*_s``) or
milliseconds (``*_ms``).

Topics (relative to the kiosk namespace):

=============================  ===================  ===============================================
topic                          kind                 from → to
=============================  ===================  ===============================================
audio/utterance                utterance            microphone → asr
speech/transcript              transcript           asr → dialogue, ui, dashboard
ui/input                       user_input           ui → dialogue
ui/rating                      rating               ui → dashboard
dialogue/reply                 reply                dialogue → tts, ui, dashboard
dialogue/escalation            escalation           dialogue → ui, dashboard
dialogue/session (latched)     session              dialogue → ui, dashboard, tts
dialogue/catalog (latched)     catalog              dialogue → ui
dashboard/escalation_update    escalation_update    dashboard → ui (the kiosk's screen)
perception/visitor             visitor_event        engagement → dialogue, motion, ui
humans/persons/tracked         ids_list             engagement → anyone (REP-155 IdsList)
speech/spoken                  spoken               tts → ui, benchmarks
speech/playback                playback             tts → microphone (echo reference)
audio/barge_in                 barge_in             microphone → tts (stop playback)
=============================  ===================  ===============================================

States use ``std_msgs/Bool``: ``audio/speaking`` (a visitor is talking),
``speech/robot_speaking`` (latched; the kiosk is talking) and ``ui/push_to_talk`` (ui → microphone:
the page's microphone button is held; the microphone listens even while the kiosk talks and ends
the utterance on release). The page shows that button only while the microphone node's
diagnostics report a real device (``source: device``). Engagement levels per person are
``std_msgs/UInt8`` on ``humans/persons/<id>/engagement_status`` with hri_msgs/EngagementLevel's
constants (0 UNKNOWN … 4 DISENGAGING); hri_msgs is not installable here.

Added for presence and barge-in (issue 9, all backward compatible): :class:`IdsList`,
:class:`Playback`, :class:`BargeIn`, and ``Spoken.interrupted`` / ``Spoken.interrupted_unix_s``.

**Visits.** The dialogue node owns the kiosk's current visit (one screen, one visitor at a time):
it opens a session (a fresh ``session_id``) when a visitor becomes engaged or, without a camera,
on the first question; it closes it when the visitor leaves, on the page's "Bắt đầu lại" or idle
timeout (``UserInput`` ``end_session``), on "goodbye", or after ``idle_reset_s``. Every open and
close is a :class:`SessionEvent` on the latched ``dialogue/session``; replies carry the session
id. Whoever shows or stores a conversation (the page, the dashboard) forgets the screen state of
a closed session: a page that connects later never replays another visitor's conversation.

**Screen cards.** ``Reply.reply_screen`` is the card the page draws::

    {"type": "procedure"|"message"|"clarify"|"confirm"|"not_understood"|"escalation"|"address",
     "title": str, "text": str, "procedure": {...}|None, "address": {...}|None,
     "choices": [{"label": str, "text": str}],          # buttons that send their text
     "candidates": [Candidate...]}                      # buttons that select a procedure

``candidates`` (see :class:`Candidate`) are the procedures the kiosk is unsure between ("Có phải
bà con muốn hỏi: …"); touching one sends ``UserInput(action="select_procedure", procedure_id=…)``.
A ``confirm`` card asks "Bà con hỏi về … phải không ạ?" (its first candidate; "Đúng" / "Không phải"
as choices); ``not_understood`` asks to repeat or touch the screen; a procedure done elsewhere is a
``message`` card with ``"elsewhere": {"id", "where", "online"}``.

**Speculative recognition** (issue 10, backward compatible defaults): during a pause the microphone
sends ``Utterance(speculative=True)``; when the endpoint follows without new speech the final
utterance carries the same audio and ``confirms=<the speculative utterance_id>``, and the ASR
answers it with the result it already has (``Transcript.speculative_hit``). Consumers that only
want finished utterances skip ``speculative`` ones. A ``Transcript`` with ``accepted=False`` is
answered by the dialogue too ("please repeat"), with an empty ``Reply.user_text``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from kiosk_protocol.text import nfc

__all__ = [
    "DEFAULT_MAX_PAYLOAD_CHARS",
    "MAX_PAYLOAD_CHARS",
    "SCHEMA_VERSION",
    "BargeIn",
    "Candidate",
    "Catalog",
    "CatalogCategory",
    "CatalogProcedure",
    "Escalation",
    "EscalationUpdate",
    "IdsList",
    "Message",
    "Playback",
    "ProtocolError",
    "Rating",
    "Reply",
    "SessionEvent",
    "Spoken",
    "Transcript",
    "UserInput",
    "Utterance",
    "VisitorEvent",
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
    schema_version: int = Field(default=SCHEMA_VERSION, strict=True)  # "1", 1.0 or true are not versions


class _Pcm(_Base):
    """Mono signed 16-bit PCM, base64 encoded (checked on decode: valid base64, whole samples)."""

    sample_rate_hz: int = Field(default=16000, gt=0, le=192_000)
    pcm_s16le_b64: str

    @field_validator("pcm_s16le_b64")
    @classmethod
    def _whole_samples(cls, value: str) -> str:
        try:
            size = len(base64.b64decode(value, validate=True))
        except ValueError as exc:  # binascii.Error: not base64, or bad padding
            raise ValueError(f"pcm_s16le_b64 is not base64: {exc}") from exc
        if size % 2:
            raise ValueError(f"pcm_s16le_b64 holds {size} bytes: not whole 16-bit samples")
        return value

    @classmethod
    def from_samples(cls, samples: np.ndarray, **fields: Any):
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


class Utterance(_Pcm):
    """One cut utterance: 16 kHz mono signed 16-bit PCM, base64 encoded."""

    kind: Literal["utterance"] = "utterance"
    utterance_id: str = Field(default_factory=new_id)
    start_unix_s: float
    end_of_speech_unix_s: float
    source: str = "microphone"
    # speculative recognition (issue 10): sent during a pause that may be the end of speech; a
    # later final utterance with the same audio names it in ``confirms`` (its result stands)
    speculative: bool = False
    confirms: str = ""


class Playback(_Pcm):
    """A piece of the kiosk's own voice as it starts playing (one sentence, 16 kHz): the echo
    reference that lets the microphone tell the citizen's voice from the kiosk's."""

    kind: Literal["playback"] = "playback"
    reply_id: str
    start_unix_s: float


class BargeIn(_Base):
    """The citizen spoke over the kiosk: the tts node stops playback."""

    kind: Literal["barge_in"] = "barge_in"
    speech_start_unix_s: float  # the first speech frame, on the microphone stream's clock
    detected_unix_s: float  # when the microphone node decided (wall clock)
    probability: float = Field(default=0.0, ge=0.0, le=1.0)
    erle_db: float = 0.0  # how much of the kiosk's echo the canceller removed


class IdsList(_Base):
    """REP-155 ``hri_msgs/IdsList`` (``humans/persons/tracked``) as JSON: the tracked person ids."""

    kind: Literal["ids_list"] = "ids_list"
    ids: list[str] = Field(default_factory=list)
    unix_s: float = Field(default_factory=time.time)


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
    speculative_hit: bool = False  # recognized during the trailing pause, before the endpoint
    published_unix_s: float = Field(default_factory=time.time)

    _nfc = field_validator("text")(lambda cls, v: nfc(v))
    _nfc_hypotheses = field_validator("hypotheses")(lambda cls, v: [(nfc(t), c) for t, c in v])


class UserInput(_Base):
    """Touchscreen input: a typed question, a touched procedure, "read it again", or a visit start/end.

    ``select_procedure`` names ``procedure_id`` (a catalog or candidate button); ``repeat`` asks
    for the current answer again (spoken and shown); ``end_session`` closes the visit;
    ``lookup_address`` carries an old address typed in the page's address form (``text``) and is
    answered with an ``address`` card (added for the touchscreen, issue 7).
    """

    kind: Literal["user_input"] = "user_input"
    input_id: str = Field(default_factory=new_id)
    session_id: str = ""
    action: Literal["text", "select_procedure", "repeat", "start_session", "end_session", "lookup_address"] = "text"
    text: str = Field(default="", max_length=10_000)
    procedure_id: str = Field(default="", max_length=100)
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


class Candidate(BaseModel):
    """A procedure offered as a button when the kiosk is unsure."""

    model_config = ConfigDict(extra="forbid")
    procedure_id: str
    label: str  # the colloquial name, as a citizen says it
    name: str = ""  # the official name, shown below
    probability: float = Field(default=0.0, ge=0.0, le=1.0)


class Escalation(_Base):
    """A hand-over to a staff member, with the reason.

    ``reason`` is one of ``visitor_request`` (the citizen asked for staff), ``repeated_failures``
    (the kiosk did not understand several times), ``dialogue_error``, or another short snake_case
    word; never ``visitor_request`` unless the citizen asked.
    """

    kind: Literal["escalation"] = "escalation"
    escalation_id: str = Field(default_factory=new_id)
    session_id: str
    reason: str
    user_text: str = ""
    reply_id: str = ""
    source: Literal["voice", "screen", "system"] = "voice"
    unix_s: float = Field(default_factory=time.time)


class EscalationUpdate(_Base):
    """Staff acknowledged ("tôi đang đến") or resolved an escalation; shown on the kiosk's screen."""

    kind: Literal["escalation_update"] = "escalation_update"
    escalation_id: str
    session_id: str = ""
    status: Literal["acknowledged", "resolved"]
    staff_name: str = Field(default="", max_length=100)  # display name, e.g. "Chị Lan"
    message_vi: str = Field(default="", max_length=500)  # what the kiosk shows / says to the citizen
    unix_s: float = Field(default_factory=time.time)


class Rating(_Base):
    """A citizen's 1–5 satisfaction rating, one touch on the page."""

    kind: Literal["rating"] = "rating"
    rating_id: str = Field(default_factory=new_id)
    session_id: str = ""
    score: int = Field(ge=1, le=5)
    reply_id: str = ""  # the answer that was rated, if any
    procedure_id: str | None = None
    trigger: Literal["after_answer", "restart", "end"] = "after_answer"
    unix_s: float = Field(default_factory=time.time)


class SessionEvent(_Base):
    """A visit opened or closed (see "Visits" above)."""

    kind: Literal["session"] = "session"
    session_id: str
    event: Literal["started", "ended"]
    reason: Literal[
        "visitor_engaged", "first_input", "visitor_left", "restart", "idle_timeout", "goodbye", "shutdown"
    ]
    unix_s: float = Field(default_factory=time.time)


class VisitorEvent(_Base):
    """The engaged visitor the kiosk attends to (REP-155 person id, not an identity), or that they left.

    ``engaged``: a visitor became ENGAGED (the dialogue greets and opens a visit); ``update``: the
    attended visitor moved (bearing for the motion node); ``left``: the attended visitor is gone
    (DISENGAGED / no longer tracked; the dialogue closes the visit). Bearing in radians, REP-103
    (positive to the robot's left), distance in metres.
    """

    kind: Literal["visitor_event"] = "visitor_event"
    event: Literal["engaged", "update", "left"]
    person_id: str
    engagement: Literal["UNKNOWN", "DISENGAGED", "ENGAGING", "ENGAGED", "DISENGAGING"] = "UNKNOWN"
    bearing_rad: float = Field(default=0.0, ge=-3.1416, le=3.1416)
    distance_m: float = Field(default=0.0, ge=0.0, le=50.0)
    unix_s: float = Field(default_factory=time.time)


class CatalogCategory(BaseModel):
    """A category of procedures on the home screen."""

    model_config = ConfigDict(extra="forbid")
    id: str  # e.g. civil_status (dialogue.kb.CATEGORIES)
    label: str  # Vietnamese, e.g. "Hộ tịch"
    icon: str = ""  # file name under the page's static icons folder
    procedure_ids: list[str] = Field(default_factory=list)


class CatalogProcedure(BaseModel):
    """A procedure as the page lists and searches it; ``card`` is the same dict as a reply's."""

    model_config = ConfigDict(extra="forbid")
    id: str
    label: str  # colloquial name first ("làm giấy khai sinh")
    name: str  # official name below
    category: str
    search_keys: list[str] = Field(default_factory=list)  # folded with kiosk_protocol.text.fold_key
    search_examples: list[str] = Field(default_factory=list)  # folded example questions (weaker matches)
    card: dict[str, Any] = Field(default_factory=dict)


class Catalog(_Base):
    """Everything the touchscreen needs to browse and search the knowledge base, from the dialogue.

    ``version`` changes whenever the KB changes (a hash); the page reloads its lists then.
    ``center`` holds this center's facts for the page's "hours and counters" screen:
    ``{"name", "address", "hotline", "opening_hours": [{"days", "hours"}], "counters": [{"number", "label"}]}``.
    """

    kind: Literal["catalog"] = "catalog"
    version: str
    center_name: str = ""
    center: dict[str, Any] = Field(default_factory=dict)
    categories: list[CatalogCategory] = Field(default_factory=list)
    procedures: list[CatalogProcedure] = Field(default_factory=list)
    published_unix_s: float = Field(default_factory=time.time)


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
    interrupted: bool = False  # stopped by a barge-in
    interrupted_unix_s: float | None = None


Message = Annotated[
    Utterance
    | Transcript
    | UserInput
    | Reply
    | Escalation
    | EscalationUpdate
    | Rating
    | SessionEvent
    | VisitorEvent
    | Catalog
    | Spoken
    | Playback
    | BargeIn
    | IdsList,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[Message] = TypeAdapter(Message)


def encode(message: _Base) -> str:
    """Serialize a message to the JSON carried in ``std_msgs/String.data``."""
    return message.model_dump_json()


# The largest payload (JSON characters) accepted per kind: a larger one is refused before anyone
# stores, shows or speaks it. Audio (~0.7 MB for 15 s) and the catalog (~0.15 MB for 32
# procedures) are large by nature; every other kind is a few kB.
MAX_PAYLOAD_CHARS = {"utterance": 8_000_000, "playback": 8_000_000, "catalog": 32_000_000}
DEFAULT_MAX_PAYLOAD_CHARS = 256_000


def _schema_version_of(data: str | bytes) -> Any:
    """The payload's ``schema_version`` (the current one when it has none or is not an object)."""
    try:
        obj = json.loads(data)
    except ValueError:
        return SCHEMA_VERSION
    return obj.get("schema_version", SCHEMA_VERSION) if isinstance(obj, dict) else SCHEMA_VERSION


def decode(data: str, expected: type[_Base] | None = None) -> Message:
    """Parse and validate a JSON payload; raise :class:`ProtocolError` with the reason."""
    if not isinstance(data, str | bytes):
        raise ProtocolError(f"invalid kiosk message: a {type(data).__name__}, not JSON text")
    limit = max(MAX_PAYLOAD_CHARS.values())
    if len(data) > limit:
        raise ProtocolError(f"payload of {len(data)} characters is over the {limit} limit")
    try:
        message = _ADAPTER.validate_json(data)
    except ValidationError as exc:  # also malformed JSON
        version = _schema_version_of(data)
        if version != SCHEMA_VERSION:  # a newer (or broken) sender: say so rather than name a field
            raise ProtocolError(f"schema_version {version!r} is not {SCHEMA_VERSION}") from exc
        errors = exc.errors()
        where = ".".join(str(part) for part in errors[0].get("loc", ())) if errors else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        reason = errors[0].get("msg", "") if errors else str(exc)
        raise ProtocolError(f"invalid kiosk message: {where + ': ' if where else ''}{reason}{more}"[:300]) from exc
    except Exception as exc:
        raise ProtocolError(f"invalid kiosk message: {exc}".splitlines()[0][:300]) from exc
    limit = MAX_PAYLOAD_CHARS.get(message.kind, DEFAULT_MAX_PAYLOAD_CHARS)
    if len(data) > limit:
        raise ProtocolError(f"{message.kind} payload of {len(data)} characters is over the {limit} limit")
    if message.schema_version != SCHEMA_VERSION:
        raise ProtocolError(f"schema_version {message.schema_version} is not {SCHEMA_VERSION}")
    if expected is not None and not isinstance(message, expected):
        raise ProtocolError(f"expected a {expected.__name__}, got kind={message.kind!r}")
    return message
