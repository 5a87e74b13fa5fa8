"""dialogue: transcripts and touchscreen input → replies (ONNX intent model + dialogue manager)."""

from __future__ import annotations

import time

from std_msgs.msg import String
from std_srvs.srv import Trigger

from dialogue import DialogueEngine, DialogueUnavailable
from dialogue.catalog import build_catalog
from dialogue.manager import EngineOptions, EngineReply
from dialogue.visits import VisitTracker
from kiosk_protocol import Escalation, Reply, SessionEvent, Transcript, UserInput, VisitorEvent, encode

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    KioskLifecycleNode,
    Param,
    between,
    non_negative,
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
        Param("idle_reset_s", 120.0, "a visit closes (screen cleared) after this long without input", "s", positive),
        Param("clarify_margin", 0.25, "ask 'A or B?' when the top two procedures are closer than this", "probability",
              between(0.0, 1.0)),
        Param("answer_threshold_speech", 0.0, "spoken procedure answered at least this likely, else confirmed "
              "or offered as candidates (0: the model's calibrated value)", "probability", between(0.0, 1.0)),
        Param("max_failures", 2, "not-understood turns in a row before calling a staff member", "turns", positive),
        Param("reload_period_s", 0.0, "re-read the KB and model this often (0: never)", "s", non_negative),
    )

    def __init__(self) -> None:
        super().__init__("dialogue")
        self._engine: DialogueEngine | None = None
        self._visits: VisitTracker | None = None
        self._replies = 0
        self._inputs_seen: dict[str, None] = {}  # input ids answered (oldest first), for resent inputs
        self._duplicate_inputs = 0

    def configure_core(self) -> None:
        try:
            self._engine = DialogueEngine.load(
                model_dir=resolve_path(self.cfg["model_dir"]),
                kb_dir=resolve_path(self.cfg["kb_dir"]),
                center_path=resolve_path(self.cfg["center_path"]),
                options=EngineOptions(idle_reset_s=self.cfg["idle_reset_s"],
                                      clarify_margin=self.cfg["clarify_margin"],
                                      answer_threshold_speech=self.cfg["answer_threshold_speech"] or None,
                                      max_failures=self.cfg["max_failures"]),
            )
        except DialogueUnavailable as exc:
            raise ConfigureError(str(exc)) from exc
        self._visits = VisitTracker(idle_timeout_s=self.cfg["idle_reset_s"])
        self.set_status(OK, "dialogue model and knowledge base loaded")
        self.update_values(procedures=len(self._engine.kb.procedures),
                           model_sha256=str(self._engine.model.meta.get("model_sha256", ""))[:12])

    def activate_core(self) -> None:
        self._reply_pub = self.create_publisher(String, "dialogue/reply", RELIABLE_QOS)
        self._escalation_pub = self.create_publisher(String, "dialogue/escalation", RELIABLE_QOS)
        self._session_pub = self.create_publisher(String, "dialogue/session", LATCHED_QOS)
        self._catalog_pub = self.create_publisher(String, "dialogue/catalog", LATCHED_QOS)
        self._catalog_version = ""
        self._publish_catalog()
        self._subs = [
            self.create_subscription(String, "speech/transcript", self._on_transcript, RELIABLE_QOS),
            self.create_subscription(String, "ui/input", self._on_input, RELIABLE_QOS),
            self.create_subscription(String, "perception/visitor", self._on_visitor, RELIABLE_QOS),
        ]
        # ~/reload (std_srvs/Trigger): re-read the KB and model now, e.g. after the dashboard retrained
        self._reload_srv = self.create_service(Trigger, "~/reload", self._on_reload_request)
        self._dialogue_timers = [self.create_timer(1.0, lambda: self._publish_sessions(self._visits.tick()))]
        if self.cfg["reload_period_s"] > 0:
            self._dialogue_timers.append(self.create_timer(self.cfg["reload_period_s"], self._reload))

    def deactivate_core(self) -> None:
        if self.context.ok():  # after Ctrl-C the context is gone: the latched topic simply ends with us
            self._publish_sessions(self._visits.end("shutdown"))
        for sub in self._subs:
            self.destroy_subscription(sub)
        for timer in self._dialogue_timers:
            self.destroy_timer(timer)
        self.destroy_publisher(self._reply_pub)
        self.destroy_publisher(self._escalation_pub)
        self.destroy_publisher(self._session_pub)
        self.destroy_publisher(self._catalog_pub)
        self.destroy_service(self._reload_srv)

    def cleanup_core(self) -> None:
        self._engine = None

    def _reload(self) -> bool:
        if not self._engine.reload():
            self.set_status(WARN, "knowledge base or model has an error; keeping the last good one "
                            "(run: python -m dialogue validate)")
            return False
        self.set_status(OK, "dialogue model and knowledge base loaded")
        self.update_values(procedures=len(self._engine.kb.procedures),
                           model_sha256=str(self._engine.model.meta.get("model_sha256", ""))[:12],
                           reloaded_unix_s=f"{time.time():.0f}")
        self._publish_catalog()
        return True

    def _on_reload_request(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success = self._reload()
        response.message = (f"reloaded: {len(self._engine.kb.procedures)} procedures, model "
                             f"{str(self._engine.model.meta.get('model_sha256', ''))[:12]}"
                             if response.success else
                             "reload failed; keeping the last good knowledge base and model (see diagnostics)")
        return response

    def _publish_catalog(self) -> None:
        """The touchscreen's catalog (latched), again whenever the KB or the center facts change."""
        catalog = build_catalog(self._engine.kb, self._engine.center)
        if catalog.version != self._catalog_version:
            self._catalog_version = catalog.version
            self._catalog_pub.publish(String(data=encode(catalog)))
            self.update_values(catalog=catalog.version, catalog_procedures=len(catalog.procedures))

    def _publish_sessions(self, events: list[SessionEvent]) -> None:
        for event in events:
            if event.event == "ended":
                self._engine.end_session(event.session_id)
            self._session_pub.publish(String(data=encode(event)))
            self.update_values(session=event.session_id if event.event == "started" else "none")

    def _on_transcript(self, msg: String) -> None:
        transcript = self.decode_or_warn(msg.data, Transcript, "transcript")
        if transcript is not None:  # a rejected one (noise, hallucination) gets "please repeat": never silence
            self._turn(lambda sid: self._engine.hear(transcript.text, transcript.hypotheses,
                                                     accepted=transcript.accepted,
                                                     reject_reason=transcript.reject_reason, session_id=sid),
                       transcript.text if transcript.accepted else "", "voice", transcript.utterance_id,
                       transcript.end_of_speech_unix_s)

    def _on_input(self, msg: String) -> None:
        user_input = self.decode_or_warn(msg.data, UserInput, "screen input")
        if user_input is None:
            return
        if user_input.input_id in self._inputs_seen:  # the ui node sent it again: answered once already
            self._duplicate_inputs += 1
            self.update_values(duplicate_inputs=self._duplicate_inputs)
            return
        self._inputs_seen[user_input.input_id] = None
        while len(self._inputs_seen) > 512:
            self._inputs_seen.pop(next(iter(self._inputs_seen)))
        if user_input.action == "end_session":
            self._publish_sessions(self._visits.end("restart"))
        elif user_input.action == "start_session":
            self._publish_sessions(self._visits.end("restart"))
            self._publish_sessions(self._visits.on_input()[1])
        elif user_input.action == "select_procedure":
            self._turn(lambda sid: self._engine.select_procedure(user_input.procedure_id, session_id=sid),
                       "", "screen", user_input.input_id, None)
        elif user_input.action == "repeat":
            self._turn(lambda sid: self._engine.repeat(session_id=sid), "", "screen", user_input.input_id, None)
        elif user_input.action == "lookup_address":
            self._turn(lambda sid: self._engine.lookup_address(user_input.text, session_id=sid),
                       user_input.text, "screen", user_input.input_id, None)
        else:
            self._turn(lambda sid: self._engine.respond(user_input.text, session_id=sid, source="screen"),
                       user_input.text, "screen", user_input.input_id, None)

    def _on_visitor(self, msg: String) -> None:
        event = self.decode_or_warn(msg.data, VisitorEvent, "visitor event")
        if event is None:
            return
        if event.event == "engaged":
            events = self._visits.on_engaged(event.person_id)
            self._publish_sessions(events)
            if any(e.event == "started" for e in events):
                self._turn(lambda sid: self._engine.greet(sid), "", "system", "", None)
        elif event.event == "left":
            self._publish_sessions(self._visits.on_left(event.person_id))

    def _turn(self, answer, text: str, source: str, in_reply_to: str, end_of_speech: float | None) -> None:
        """Run one dialogue turn in the current visit (opening one if needed) and publish the reply."""
        session_id, events = self._visits.on_input()
        self._publish_sessions(events)
        started = time.perf_counter()
        try:
            result: EngineReply = answer(session_id)
        except Exception as exc:  # never let one bad turn take the kiosk down
            self.set_status(ERROR, f"dialogue failed on one turn: {exc!r}")
            reply = Reply(intent="error", reply_voice=UNAVAILABLE_VOICE, session_id=session_id, source=source,
                          in_reply_to=in_reply_to, user_text=text,
                          reply_screen={"type": "message", "title": "Xin lỗi", "text": UNAVAILABLE_VOICE,
                                        "procedure": None, "address": None, "choices": [], "candidates": []},
                          escalate=True, escalation_reason="dialogue_error")
        else:
            reply = Reply(
                in_reply_to=in_reply_to, session_id=session_id, source=source, user_text=text,
                intent=result.intent, confidence=result.confidence, procedure_id=result.procedure_id,
                reply_voice=result.reply_voice, reply_screen=result.reply_screen, escalate=result.escalate,
                escalation_reason=result.escalation_reason,
                dialogue_ms=(time.perf_counter() - started) * 1000.0, end_of_speech_unix_s=end_of_speech,
            )
        self._reply_pub.publish(String(data=encode(reply)))
        self._replies += 1
        if reply.escalate:
            escalation = Escalation(session_id=reply.session_id, reason=reply.escalation_reason,
                                    user_text=text, reply_id=reply.reply_id, source=source)
            self._escalation_pub.publish(String(data=encode(escalation)))
        if reply.intent == "goodbye":
            self._publish_sessions(self._visits.end("goodbye"))
        self.update_values(replies=self._replies, last_intent=reply.intent,
                           last_dialogue_ms=f"{reply.dialogue_ms:.2f}",
                           **{f"turns_{k}": v for k, v in sorted(self._engine.counters.items())})


def main(args: list[str] | None = None) -> None:
    run_node(DialogueNode, args)
