"""asr: utterances → Vietnamese transcripts with faster-whisper; rejects hallucinations."""

from __future__ import annotations

from std_msgs.msg import String

from kiosk_protocol import Transcript, Utterance, encode
from speech.asr import AsrOptions, AsrResult, AsrUnavailable, SpeechRecognizer
from speech.speculative import SpeculationBook

from .lifecycle_base import (
    ERROR,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    Constraint,
    KioskLifecycleNode,
    Param,
    Worker,
    at_most,
    between,
    not_empty,
    one_of,
    positive,
    resolve_path,
    run_node,
)

COMPUTE_TYPES = ("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16",
                 "bfloat16", "float32")


class AsrNode(KioskLifecycleNode):
    AREA = "speech"
    PARAMS = (
        Param("model_path", "models/whisper-base",
              "CTranslate2 Whisper model folder (e.g. a converted PhoWhisper for better Vietnamese)"),
        Param("language", "vi", "forced recognition language (a Whisper language code)", check=not_empty),
        Param("compute_type", "int8", "CTranslate2 compute type",
              check=one_of(*COMPUTE_TYPES)),
        Param("cpu_threads", 2, "CPU threads for the recognizer", "threads", positive),
        Param("beam_size", 5, "beam search width (temperature is always 0)", "", positive),
        Param("num_hypotheses", 5, "N-best transcripts handed to the dialogue (<= beam_size)", "", positive),
        Param("pad_window_s", 3.0, "encoder window = utterance + this silence; <= 0 uses Whisper's 30 s", "s"),
        Param("min_avg_logprob", -1.6, "reject transcripts with a lower average token log-probability",
              "log-probability", at_most(0.0)),
        Param("max_no_speech_prob", 0.6, "reject when Whisper's no-speech probability is higher (30 s window)",
              "probability", between(0.0, 1.0)),
        Param("max_compression_ratio", 2.4, "reject repetition loops above this zlib ratio", "ratio", positive),
        Param("initial_prompt", "", "decoder prompt; measure before use: it can inject its own words"),
        Param("hotwords", "", "faster-whisper hotwords before the prompt; measured: they inject words (README)"),
        Param("slow_rtf_warn", 0.5, "diagnostics WARN when the real-time factor is above this", "RTF", positive),
    )

    CONSTRAINTS = (Constraint("num_hypotheses must be <= beam_size", ("num_hypotheses", "beam_size"),
                              lambda n, beam: n <= beam),)

    def __init__(self) -> None:
        super().__init__("asr")
        self._counts = {"accepted": 0, "rejected": 0}

    def configure_core(self) -> None:
        cfg = self.cfg
        options = AsrOptions(
            model_path=str(resolve_path(cfg["model_path"])),
            language=cfg["language"],
            compute_type=cfg["compute_type"],
            cpu_threads=cfg["cpu_threads"],
            beam_size=cfg["beam_size"],
            num_hypotheses=cfg["num_hypotheses"],
            pad_window_s=cfg["pad_window_s"] if cfg["pad_window_s"] > 0 else None,
            min_avg_logprob=cfg["min_avg_logprob"],
            max_no_speech_prob=cfg["max_no_speech_prob"],
            max_compression_ratio=cfg["max_compression_ratio"],
            initial_prompt=cfg["initial_prompt"],
            hotwords=cfg["hotwords"],
        )
        try:
            self._asr = SpeechRecognizer(options)
        except AsrUnavailable as exc:
            raise ConfigureError(str(exc)) from exc
        self.set_status(OK, f"model '{options.model_path}' loaded", model=options.model_path)

    def activate_core(self) -> None:
        self._book = SpeculationBook()
        self._pub = self.create_publisher(String, "speech/transcript", RELIABLE_QOS)
        self._worker = Worker(self._transcribe, max_items=4, name="asr", on_error=lambda item, exc: self.set_status(
            ERROR, f"could not transcribe utterance {item.utterance_id}: {exc!r}"))
        self._sub = self.create_subscription(String, "audio/utterance", self._on_utterance, RELIABLE_QOS)

    def deactivate_core(self) -> None:
        self.destroy_subscription(self._sub)
        self._worker.stop()
        self.destroy_publisher(self._pub)

    def cleanup_core(self) -> None:
        self._asr = None

    def _on_utterance(self, msg: String) -> None:
        utterance = self.decode_or_warn(msg.data, Utterance, "utterance")
        if utterance is None:
            return
        if utterance.speculative:  # recognize during the pause; kept only if the pause was the end
            self._book.start(utterance.utterance_id)
            self._worker.put(utterance)
            return
        if utterance.confirms:
            state, result = self._book.claim(utterance.confirms, utterance)
            if state == "ready":
                self._publish(result, utterance, speculative_hit=True)
            if state != "unknown":
                return  # "pending": the running speculative recognition publishes for this one
        else:
            self._book.drop()
        self._worker.put(utterance)

    def _transcribe(self, utterance: Utterance) -> None:
        if utterance.speculative and not self._book.wanted(utterance.utterance_id):
            return  # speech resumed (or another utterance came) before it started
        result = self._asr.transcribe(utterance.samples())
        if utterance.speculative:
            final = self._book.done(utterance.utterance_id, result)
            if final is not None:
                self._publish(result, final, speculative_hit=True)
            return
        self._publish(result, utterance)

    def _publish(self, result: AsrResult, utterance: Utterance, speculative_hit: bool = False) -> None:
        transcript = Transcript(
            utterance_id=utterance.utterance_id,
            text=result.text,
            confidence=result.confidence,
            hypotheses=result.hypotheses,
            no_speech_prob=result.no_speech_prob,
            language=self.cfg["language"],
            accepted=result.accepted,
            reject_reason=result.reject_reason,
            audio_duration_s=result.audio_s,
            asr_s=result.asr_s,
            end_of_speech_unix_s=utterance.end_of_speech_unix_s,
            speculative_hit=speculative_hit,
        )
        self._pub.publish(String(data=encode(transcript)))
        self._counts["accepted" if result.accepted else "rejected"] += 1
        rtf = result.asr_s / max(result.audio_s, 1e-3)
        level = WARN if rtf > self.cfg["slow_rtf_warn"] else OK
        message = f"last utterance RTF {rtf:.2f}" + (" (slow)" if level == WARN else "")
        self.set_status(level, message, last_rtf=f"{rtf:.3f}", last_asr_s=f"{result.asr_s:.3f}",
                        accepted=self._counts["accepted"], rejected=self._counts["rejected"],
                        dropped_backlog=self._worker.dropped, last_reject_reason=result.reject_reason,
                        speculative_hits=self._book.hits, speculative_wasted=self._book.wasted)


def main(args: list[str] | None = None) -> None:
    run_node(AsrNode, args)
