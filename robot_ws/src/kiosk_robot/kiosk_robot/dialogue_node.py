"""dialogue: transcripts and touchscreen input → replies (ONNX intent model + dialogue manager)."""

from __future__ import annotations

import time

from std_msgs.msg import String

from dialogue import DialogueEngine, DialogueUnavailable
from dialogue.manager import EngineOptions
from kiosk_protocol import Escalation, Reply, Transcript, UserInput, encode

from .lifecycle_base import (
    ERROR,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    positive,
    resolve_path,
    run_node,
)

UNAVAILABLE_VOICE = (
    "Xin lỗi, robot đang bảo trì phần trả lời. Mời bà con đến quầy tiếp nhận để được cán bộ hướng dẫn ạ."
)


class DialogueNode(KioskLifecycleNode):
    AREA = "dialogue"
    PARAMS = (
        Param("model_dir", "models/dialogue", "folder with dialogue.onnx and meta.json (python -m dialogue train)"),
        Param("kb_dir", "dialogue/kb/procedures", "knowledge base folder (one YAML per procedure)"),
        Param("center_path", "config/center.yaml", "this center's facts: name, hours, counters, hotline"),
        Param("idle_reset_s", 120.0, "a visitor's session resets after this much silence", "s", positive),
        Param("clarify_margin", 0.25, "ask 'A or B?' when the top two procedures are closer than this", "probability"),
        Param("max_failures", 2, "not-understood turns in a row before calling a staff member", "turns", positive),
        Param("reload_period_s", 0.0, "re-read the KB and model this often (0: never)", "s"),
    )

    def __init__(self) -> None:
        super().__init__("dialogue")
        self._engine: DialogueEngine | None = None
        self._session_id = "kiosk"
        self._replies = 0

    def configure_core(self) -> None:
        try:
            self._engine = DialogueEngine.load(
                model_dir=resolve_path(self.cfg["model_dir"]),
                kb_dir=resolve_path(self.cfg["kb_dir"]),
                center_path=resolve_path(self.cfg["center_path"]),
                options=EngineOptions(idle_reset_s=self.cfg["idle_reset_s"],
                                      clarify_margin=self.cfg["clarify_margin"],
                                      max_failures=self.cfg["max_failures"]),
            )
        except DialogueUnavailable as exc:
            raise ConfigureError(str(exc)) from exc
        self.set_status(OK, "dialogue model and knowledge base loaded")

    def activate_core(self) -> None:
        self._reply_pub = self.create_publisher(String, "dialogue/reply", RELIABLE_QOS)
        self._escalation_pub = self.create_publisher(String, "dialogue/escalation", RELIABLE_QOS)
        self._subs = [
            self.create_subscription(String, "speech/transcript", self._on_transcript, RELIABLE_QOS),
            self.create_subscription(String, "ui/input", self._on_input, RELIABLE_QOS),
        ]
        self._reload_timer = None
        if self.cfg["reload_period_s"] > 0:
            self._reload_timer = self.create_timer(self.cfg["reload_period_s"], self._reload)

    def deactivate_core(self) -> None:
        for sub in self._subs:
            self.destroy_subscription(sub)
        if self._reload_timer is not None:
            self.destroy_timer(self._reload_timer)
        self.destroy_publisher(self._reply_pub)
        self.destroy_publisher(self._escalation_pub)

    def cleanup_core(self) -> None:
        self._engine = None

    def _reload(self) -> None:
        if not self._engine.reload():
            self.set_status(WARN, "knowledge base or model has an error; keeping the last good one "
                            "(run: python -m dialogue validate)")

    def _on_transcript(self, msg: String) -> None:
        transcript = self.decode_or_warn(msg.data, Transcript, "transcript")
        if transcript is not None and transcript.accepted:
            self._answer(transcript.text, "voice", transcript.utterance_id, transcript.end_of_speech_unix_s,
                         transcript.hypotheses)

    def _on_input(self, msg: String) -> None:
        user_input = self.decode_or_warn(msg.data, UserInput, "screen input")
        if user_input is None:
            return
        if user_input.session_id:
            self._session_id = user_input.session_id
        if user_input.action == "start_session":
            self._engine.start_session(self._session_id)
        elif user_input.action == "end_session":
            self._engine.end_session(self._session_id)
        else:
            self._answer(user_input.text, "screen", user_input.input_id, None)

    def _answer(self, text: str, source: str, in_reply_to: str, end_of_speech: float | None,
                hypotheses: list[tuple[str, float]] = ()) -> None:
        started = time.perf_counter()
        try:
            result = self._engine.respond(text, session_id=self._session_id, source=source, hypotheses=hypotheses)
        except Exception as exc:  # never let one bad turn take the kiosk down
            self.set_status(ERROR, f"dialogue failed on one turn: {exc!r}")
            reply = Reply(intent="error", reply_voice=UNAVAILABLE_VOICE, session_id=self._session_id,
                          reply_screen={"type": "message", "title": "Xin lỗi", "text": UNAVAILABLE_VOICE,
                                        "procedure": None, "address": None, "choices": []},
                          escalate=True, escalation_reason="dialogue error")
        else:
            reply = Reply(
                in_reply_to=in_reply_to, session_id=result.session_id, source=source, user_text=text,
                intent=result.intent, confidence=result.confidence, procedure_id=result.procedure_id,
                reply_voice=result.reply_voice, reply_screen=result.reply_screen, escalate=result.escalate,
                escalation_reason=result.escalation_reason,
                dialogue_ms=(time.perf_counter() - started) * 1000.0, end_of_speech_unix_s=end_of_speech,
            )
        self._reply_pub.publish(String(data=encode(reply)))
        self._replies += 1
        if reply.escalate:
            escalation = Escalation(session_id=reply.session_id, reason=reply.escalation_reason,
                                    user_text=text, reply_id=reply.reply_id)
            self._escalation_pub.publish(String(data=encode(escalation)))
        self.update_values(replies=self._replies, last_intent=reply.intent,
                           last_dialogue_ms=f"{reply.dialogue_ms:.2f}")


def main(args: list[str] | None = None) -> None:
    run_node(DialogueNode, args)
