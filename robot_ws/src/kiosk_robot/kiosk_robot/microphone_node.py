"""microphone: audio capture (PyAudio or a simulated WAV microphone) + VAD → utterances."""

from __future__ import annotations

import threading
import time

from std_msgs.msg import Bool, String

from kiosk_protocol import Utterance, encode
from speech.audio_in import AudioSourceError, MicrophoneUnavailable, PyAudioSource, WavFolderSource
from speech.vad import SAMPLE_RATE_HZ, SpeechStarted, UtterancePreview, VadOptions, VadSegmenter

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
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


def _source_kind(value: str) -> str | None:
    return None if value in ("auto", "device", "wav") else "must be auto, device or wav"


class MicrophoneNode(KioskLifecycleNode):
    AREA = "speech"
    PARAMS = (
        Param("source", "auto", "auto: the microphone if present, else the WAV folder; device; wav",
              check=_source_kind),
        Param("device_name_contains", "", "pick the input device whose name contains this (empty: default)"),
        Param("device_retry_period_s", 3.0, "how often to look for a missing microphone", "s", positive),
        Param("wav_path", "var/sim_mic",
              "simulated microphone: a WAV file, or a folder whose WAVs arriving while it runs are played"),
        Param("wav_speed", 1.0, "replay speed of simulated audio (1 = real time)", "x", positive),
        Param("mute_while_robot_speaking", True, "ignore audio while the kiosk is talking (no barge-in)"),
        Param("vad.threshold", 0.5, "speech probability that starts speech", "0-1"),
        Param("vad.neg_threshold", 0.35, "probability under which a frame is silence", "0-1"),
        Param("vad.min_speech_ms", 250, "speech needed before an utterance starts", "ms", positive),
        Param("vad.min_silence_ms", 700, "trailing silence that ends an utterance (the adaptive endpoint's ceiling)",
              "ms", positive),
        Param("vad.pre_roll_ms", 300, "audio kept before the detected start", "ms"),
        Param("vad.max_utterance_s", 15.0, "longer speech is cut into pieces of this length", "s", positive),
        Param("vad.adaptive_floor_ms", 450, "adaptive endpoint: the shortest trailing silence that ends an "
              "utterance, raised to the visitor's longest pause + 150 ms up to vad.min_silence_ms (0: fixed)", "ms"),
        Param("vad.preview_silence_ms", 200, "pause after which the utterance so far is sent for speculative "
              "recognition (0: off)", "ms"),
    )

    def __init__(self) -> None:
        super().__init__("microphone")
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._robot_speaking = False
        self._utterances = 0
        self._preview_ids: dict[int, str] = {}  # VAD preview number -> its speculative utterance id

    def configure_core(self) -> None:
        cfg = self.cfg
        try:
            self._segmenter = VadSegmenter(
                VadOptions(
                    threshold=cfg["vad.threshold"],
                    neg_threshold=cfg["vad.neg_threshold"],
                    min_speech_ms=cfg["vad.min_speech_ms"],
                    min_silence_ms=cfg["vad.min_silence_ms"],
                    pre_roll_ms=cfg["vad.pre_roll_ms"],
                    max_utterance_s=cfg["vad.max_utterance_s"],
                    preview_silence_ms=cfg["vad.preview_silence_ms"],
                    adaptive_floor_ms=cfg["vad.adaptive_floor_ms"],
                )
            )
        except (FileNotFoundError, OSError) as exc:
            raise ConfigureError(f"VAD model cannot load: {exc}") from exc
        wav_path = resolve_path(cfg["wav_path"])
        if cfg["source"] in ("auto", "wav") and not wav_path.exists():
            wav_path.mkdir(parents=True, exist_ok=True)
        self._wav = WavFolderSource(wav_path, speed=cfg["wav_speed"])
        self._device = PyAudioSource(cfg["device_name_contains"])

    def activate_core(self) -> None:
        self._utterance_pub = self.create_publisher(String, "audio/utterance", RELIABLE_QOS)
        self._speaking_pub = self.create_publisher(Bool, "audio/speaking", RELIABLE_QOS)
        self._robot_sub = self.create_subscription(Bool, "speech/robot_speaking", self._on_robot, LATCHED_QOS)
        self._running.set()
        self._thread = threading.Thread(target=self._capture_loop, name="capture", daemon=True)
        self._thread.start()

    def deactivate_core(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        self._device.close()
        self.destroy_subscription(self._robot_sub)
        self.destroy_publisher(self._utterance_pub)
        self.destroy_publisher(self._speaking_pub)

    def _on_robot(self, msg: Bool) -> None:
        if msg.data and not self._robot_speaking and self.cfg["mute_while_robot_speaking"]:
            self._segmenter.reset()
        self._robot_speaking = bool(msg.data)

    # ---- capture thread -------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        mode = self.cfg["source"]
        while self._running.is_set():
            if mode in ("device", "auto"):
                try:
                    self._device.open()
                    self.set_status(OK, f"microphone '{self._device.device_name}'",
                                    source="device", device=self._device.device_name,
                                    native_rate_hz=self._device.native_rate_hz)
                    self._pump(self._device.blocks(), deadline=None)
                    continue
                except MicrophoneUnavailable as exc:
                    if mode == "device":
                        self.set_status(ERROR, str(exc), source="device", device="none")
                        self._sleep(self.cfg["device_retry_period_s"])
                        continue
                    self.set_status(WARN, f"no microphone, using the simulated microphone "
                                    f"'{self._wav.path}' ({exc})", source="wav", device="none")
            else:
                self.set_status(OK, f"simulated microphone '{self._wav.path}'", source="wav")
            deadline = None if mode == "wav" else time.monotonic() + self.cfg["device_retry_period_s"]
            self._pump(self._wav.blocks(), deadline)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self._running.is_set() and time.monotonic() < end:
            time.sleep(0.1)

    def _pump(self, blocks, deadline: float | None) -> None:
        """Feed blocks through the VAD until deactivated, or the deadline passes between utterances."""
        try:
            for block in blocks:
                if not self._running.is_set():
                    return
                # the block ends "now": stream time → wall time for the events it completes
                offset_s = time.time() - (self._segmenter.received_s + len(block) / SAMPLE_RATE_HZ)
                if self._robot_speaking and self.cfg["mute_while_robot_speaking"]:
                    continue
                for event in self._segmenter.feed(block):
                    self._publish(event, offset_s)
                self._report_wav_errors()
                idle = not self._segmenter.in_speech and not self._wav.current
                if deadline is not None and idle and time.monotonic() > deadline:
                    return
        except AudioSourceError as exc:
            self.set_status(ERROR, str(exc))

    def _publish(self, event, offset_s: float) -> None:
        if isinstance(event, SpeechStarted):
            self._speaking_pub.publish(Bool(data=True))
            return
        fields = {"start_unix_s": event.start_s + offset_s, "end_of_speech_unix_s": event.end_of_speech_s + offset_s,
                  "source": self._wav.current or self._device.device_name or "microphone"}
        if isinstance(event, UtterancePreview):  # speculative: the ASR starts during the pause
            msg = Utterance.from_samples(event.samples, speculative=True, **fields)
            self._preview_ids = {event.preview_id: msg.utterance_id}
            self._utterance_pub.publish(String(data=encode(msg)))
            return
        self._speaking_pub.publish(Bool(data=False))
        self._utterances += 1
        confirms = self._preview_ids.pop(event.preview_id, "") if event.preview_id else ""
        msg = Utterance.from_samples(event.samples, confirms=confirms, **fields)
        self._utterance_pub.publish(String(data=encode(msg)))
        self.update_values(utterances=self._utterances, last_utterance_s=f"{msg.duration_s:.2f}",
                           cut_at_max=event.cut_at_max)

    def _report_wav_errors(self) -> None:
        while self._wav.errors:
            self.set_status(WARN, f"skipped a simulated-microphone file: {self._wav.errors.pop(0)}")


def main(args: list[str] | None = None) -> None:
    run_node(MicrophoneNode, args)
