"""microphone: audio capture (PyAudio or a simulated WAV microphone) + VAD → utterances."""

from __future__ import annotations

import threading
import time

from std_msgs.msg import Bool, String

from kiosk_protocol import BargeIn, Playback, Utterance, encode
from speech.audio_in import AudioSourceError, MicrophoneUnavailable, PyAudioSource, WavFolderSource
from speech.barge_in import BargeInOptions, EchoCanceller, GatedVad, PlaybackReference, SimulatedEcho, StreamClock
from speech.vad import SAMPLE_RATE_HZ, SileroVad, SpeechStarted, UtterancePreview, VadOptions, VadSegmenter

from .lifecycle_base import (
    ERROR,
    LATCHED_QOS,
    OK,
    RELIABLE_QOS,
    WARN,
    ConfigureError,
    Constraint,
    KioskLifecycleNode,
    Param,
    between,
    non_negative,
    one_of,
    positive,
    resolve_path,
    run_node,
)


class MicrophoneNode(KioskLifecycleNode):
    AREA = "speech"
    PARAMS = (
        Param("source", "auto", "auto: the microphone if present, else the WAV folder; device; wav",
              check=one_of("auto", "device", "wav")),
        Param("device_name_contains", "", "pick the input device whose name contains this (empty: default)"),
        Param("device_retry_period_s", 3.0, "how often to look for a missing microphone", "s", positive),
        Param("wav_path", "var/sim_mic",
              "simulated microphone: a WAV file, or a folder whose WAVs arriving while it runs are played"),
        Param("wav_speed", 1.0, "replay speed of simulated audio (1 = real time)", "x", positive),
        Param("mute_while_robot_speaking", True, "ignore audio while the kiosk is talking (when barge-in is off)"),
        Param("barge_in.enabled", True, "listen while the kiosk talks, echo-cancelled, so a citizen can interrupt"),
        Param("barge_in.vad_threshold", 0.6, "speech probability needed while the kiosk talks", "probability",
              between(0.0, 1.0)),
        Param("barge_in.min_speech_ms", 96, "speech over the kiosk that stops its playback", "ms", positive),
        Param("barge_in.echo_margin_db", 6.0, "the citizen must be this far above the echo left after cancelling",
              "dB", between(0.0, 60.0)),
        Param("barge_in.echo_filter_ms", 192, "echo path length the canceller learns (speaker, room, delay)", "ms",
              positive),
        Param("barge_in.tail_ms", 400, "keep gating this long after the kiosk stops talking", "ms", non_negative),
        Param("barge_in.sim_echo_gain", 0.0, "simulated microphone only: mix the kiosk's own voice in at this "
              "gain (a test echo path)", "x", between(0.0, 10.0)),
        Param("barge_in.sim_echo_delay_ms", 30.0, "simulated echo delay", "ms", non_negative),
        Param("vad.threshold", 0.5, "speech probability that starts speech", "probability", between(0.0, 1.0)),
        Param("vad.neg_threshold", 0.35, "probability under which a frame is silence", "probability",
              between(0.0, 1.0)),
        Param("vad.min_speech_ms", 250, "speech needed before an utterance starts", "ms", positive),
        Param("vad.min_silence_ms", 700, "trailing silence that ends an utterance (the adaptive endpoint's ceiling)",
              "ms", positive),
        Param("vad.pre_roll_ms", 300, "audio kept before the detected start", "ms", non_negative),
        Param("vad.max_utterance_s", 15.0, "longer speech is cut into pieces of this length", "s", positive),
        Param("vad.adaptive_floor_ms", 450, "adaptive endpoint: the shortest trailing silence that ends an "
              "utterance, raised to the visitor's longest pause + 150 ms up to vad.min_silence_ms (0: fixed)", "ms",
              non_negative),
        Param("vad.preview_silence_ms", 200, "pause after which the utterance so far is sent for speculative "
              "recognition (0: off)", "ms", non_negative),
    )

    CONSTRAINTS = (Constraint("vad.neg_threshold must be <= vad.threshold", ("vad.neg_threshold", "vad.threshold"),
                              lambda low, high: low <= high),)

    def __init__(self) -> None:
        super().__init__("microphone")
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._robot_speaking = False
        self._push_to_talk = False  # the page's microphone button is held: listen even while the kiosk talks
        self._flush_requested = False  # ... and released: end the utterance now
        self._utterances = 0
        self._barge_in: GatedVad | None = None
        self._barge_ins = 0
        self._echo_report_s = 0.0
        self._preview_ids: dict[int, str] = {}  # VAD preview number -> its speculative utterance id

    def configure_core(self) -> None:
        cfg = self.cfg
        try:
            vad = SileroVad()
            self._barge_in = self._configure_barge_in(vad) if cfg["barge_in.enabled"] else None
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
                ),
                vad=self._barge_in or vad,
            )
        except (FileNotFoundError, OSError) as exc:
            raise ConfigureError(f"VAD model cannot load: {exc}") from exc
        wav_path = resolve_path(cfg["wav_path"])
        if cfg["source"] in ("auto", "wav") and not wav_path.exists():
            wav_path.mkdir(parents=True, exist_ok=True)
        self._wav = WavFolderSource(wav_path, speed=cfg["wav_speed"])
        self._device = PyAudioSource(cfg["device_name_contains"])

    def _configure_barge_in(self, vad: SileroVad) -> GatedVad:
        """Echo reference + canceller + gated VAD (speech/barge_in.py), and the simulated echo path."""
        cfg = self.cfg
        try:
            options = BargeInOptions(vad_threshold=cfg["barge_in.vad_threshold"],
                                     min_speech_ms=cfg["barge_in.min_speech_ms"],
                                     echo_margin_db=cfg["barge_in.echo_margin_db"], tail_ms=cfg["barge_in.tail_ms"])
            self._reference = PlaybackReference()
            self._stream_clock = StreamClock()
            self._canceller = EchoCanceller(self._reference, partitions=max(1, cfg["barge_in.echo_filter_ms"] // 32))
            self._sim_echo = (SimulatedEcho(self._reference, cfg["barge_in.sim_echo_gain"],
                                            cfg["barge_in.sim_echo_delay_ms"])
                              if cfg["barge_in.sim_echo_gain"] > 0 else None)
        except ValueError as exc:
            raise ConfigureError(f"barge_in parameters: {exc}") from exc
        return GatedVad(vad, self._canceller, options)

    def activate_core(self) -> None:
        self._utterance_pub = self.create_publisher(String, "audio/utterance", RELIABLE_QOS)
        self._speaking_pub = self.create_publisher(Bool, "audio/speaking", RELIABLE_QOS)
        self._robot_sub = self.create_subscription(Bool, "speech/robot_speaking", self._on_robot, LATCHED_QOS)
        self._ptt_sub = self.create_subscription(Bool, "ui/push_to_talk", self._on_push_to_talk, RELIABLE_QOS)
        if self._barge_in is not None:
            self._barge_in_pub = self.create_publisher(String, "audio/barge_in", RELIABLE_QOS)
            self._playback_sub = self.create_subscription(String, "speech/playback", self._on_playback, RELIABLE_QOS)
        self._running.set()
        self._thread = threading.Thread(target=self._capture_loop, name="capture", daemon=True)
        self._thread.start()

    def deactivate_core(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
        self._device.close()
        self.destroy_subscription(self._robot_sub)
        self.destroy_subscription(self._ptt_sub)
        if self._barge_in is not None:
            self.destroy_subscription(self._playback_sub)
            self.destroy_publisher(self._barge_in_pub)
        self.destroy_publisher(self._utterance_pub)
        self.destroy_publisher(self._speaking_pub)

    def _on_robot(self, msg: Bool) -> None:
        if self._barge_in is not None:
            now = time.time()
            if not msg.data:
                self._reference.cut(now)  # playback ended or was stopped: nothing more will sound
            self._barge_in.set_robot_speaking(bool(msg.data), now)
        elif msg.data and not self._robot_speaking and self.cfg["mute_while_robot_speaking"]:
            self._segmenter.reset()
        self._robot_speaking = bool(msg.data)

    def _on_push_to_talk(self, msg: Bool) -> None:
        if self._push_to_talk and not msg.data:
            self._flush_requested = True
        self._push_to_talk = bool(msg.data)

    def _on_playback(self, msg: String) -> None:
        playback = self.decode_or_warn(msg.data, Playback, "playback reference")
        if playback is not None:
            self._reference.add(playback.start_unix_s, playback.samples())

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
                    self._pump(self._device.blocks(), deadline=None, simulated=False)
                    continue
                except MicrophoneUnavailable as exc:
                    if mode == "device":
                        self.set_status(ERROR, str(exc), source="device", device="none")
                        self._sleep(self.cfg["device_retry_period_s"])
                        continue
                    self.set_status(WARN, f"no microphone, using the simulated microphone "
                                    f"'{self._wav.path}' ({exc})", source="wav", device="none")
            elif not self._wav.path.exists():  # the simulated device is unplugged: say so, retry
                self.set_status(ERROR, self._wav.missing_message(), source="wav")
                self._sleep(self.cfg["device_retry_period_s"])
                continue
            else:
                self.set_status(OK, f"simulated microphone '{self._wav.path}'", source="wav")
            deadline = None if mode == "wav" else time.monotonic() + self.cfg["device_retry_period_s"]
            self._pump(self._wav.blocks(), deadline, simulated=True)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self._running.is_set() and time.monotonic() < end:
            time.sleep(0.1)

    def _pump(self, blocks, deadline: float | None, simulated: bool) -> None:
        """Feed blocks through the VAD until deactivated, or the deadline passes between utterances."""
        try:
            for block in blocks:
                if not self._running.is_set():
                    return
                # the block ends "now": stream time → wall time for the events it completes
                end_s = time.time()
                if self._barge_in is not None:
                    end_s = self._stream_clock.block_end(end_s, len(block))  # steady, for the echo reference
                    block = self._cancel_echo(block, simulated, end_s)
                offset_s = end_s - (self._segmenter.received_s + len(block) / SAMPLE_RATE_HZ)
                if self._barge_in is not None:
                    self._barge_in.set_stream_offset(offset_s)
                elif self._robot_speaking and self.cfg["mute_while_robot_speaking"] and not self._push_to_talk:
                    continue
                for event in self._segmenter.feed(block):
                    self._publish(event, offset_s)
                if self._flush_requested:  # the push-to-talk button was released
                    self._flush_requested = False
                    for event in self._segmenter.flush():
                        self._publish(event, offset_s)
                if self._barge_in is not None:
                    self._publish_barge_ins()
                self._report_wav_errors()
                idle = not self._segmenter.in_speech and not self._wav.current
                if deadline is not None and idle and time.monotonic() > deadline:
                    return
        except AudioSourceError as exc:
            self.set_status(ERROR, str(exc))

    def _cancel_echo(self, block, simulated: bool, end_s: float):
        """Barge-in path: (simulated echo) → echo canceller; the segmenter then sees the citizen only."""
        now = time.time()
        if simulated and self._sim_echo is not None:
            block = self._sim_echo.mix(block, end_s)
        cleaned = self._canceller.process(block, end_s)
        if now - self._echo_report_s > 1.0:
            self._echo_report_s = now
            self.update_values(echo_erle_db=f"{self._canceller.erle_db:.1f}",
                               echo_canceller_ready=self._canceller.converged,
                               gated_frames=self._barge_in.gated_frames)
        return cleaned

    def _publish_barge_ins(self) -> None:
        for detected in self._barge_in.pop_events():
            msg = BargeIn(speech_start_unix_s=detected.speech_start_unix_s, detected_unix_s=time.time(),
                          probability=min(1.0, detected.probability), erle_db=detected.erle_db)
            self._barge_in_pub.publish(String(data=encode(msg)))
            self.get_logger().info(f"barge-in: the visitor spoke over the kiosk (echo removed {msg.erle_db:.0f} dB)")
            self.update_values(barge_ins=self._barge_ins + 1, erle_db=f"{msg.erle_db:.1f}")
            self._barge_ins += 1

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
