"""The JSON schema carried on std_msgs/String topics."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from kiosk_protocol import ProtocolError, Reply, Transcript, UserInput, Utterance, decode, encode
from kiosk_protocol.text import fold_diacritics, nfc


def test_round_trip_of_every_kind():
    messages = [
        Utterance.from_samples(np.zeros(160, np.float32), start_unix_s=1.0, end_of_speech_unix_s=2.0),
        Transcript(utterance_id="u1", text="xin chào", confidence=0.8),
        UserInput(text="khai sinh"),
        Reply(intent="greeting", reply_voice="Xin chào"),
    ]
    for message in messages:
        assert decode(encode(message)) == message


def test_utterance_audio_survives_encoding():
    samples = (np.sin(np.linspace(0, 100, 16000)) * 0.5).astype(np.float32)
    decoded = decode(encode(Utterance.from_samples(samples, start_unix_s=0, end_of_speech_unix_s=1)), Utterance)
    assert decoded.duration_s == pytest.approx(1.0)
    assert np.abs(decoded.samples() - samples).max() < 1e-3


def test_text_is_normalized_to_nfc():
    nfd = unicodedata.normalize("NFD", "đăng ký khai sinh")
    assert UserInput(text=nfd).text == "đăng ký khai sinh"
    assert nfc(nfd) == "đăng ký khai sinh"
    assert fold_diacritics("Đăng ký khai sinh") == "Dang ky khai sinh"


@pytest.mark.parametrize("payload", ["", "{", "[]", '{"kind": "nope"}', '{"kind": "reply"}',
                                     '{"kind": "user_input", "text": "x", "unknown": 1}'])
def test_malformed_payloads_raise_protocol_error(payload):
    with pytest.raises(ProtocolError):
        decode(payload)


def test_wrong_kind_is_rejected_and_huge_input_refused():
    with pytest.raises(ProtocolError, match="expected a Reply"):
        decode(encode(UserInput(text="x")), Reply)
    with pytest.raises(ValueError):
        UserInput(text="a" * 10_001)


def test_transcript_carries_an_nfc_n_best_list():
    nfd = unicodedata.normalize("NFD", "kết hôn")
    transcript = Transcript(utterance_id="u", text=nfd, confidence=0.5, hypotheses=[(nfd, 0.5), ("kết hùng", 0.4)])
    decoded = decode(encode(transcript), Transcript)
    assert decoded.hypotheses == [("kết hôn", 0.5), ("kết hùng", 0.4)]


def test_round_trip_of_the_shared_visit_staff_and_catalog_kinds():
    from kiosk_protocol import (
        Catalog,
        CatalogCategory,
        CatalogProcedure,
        Escalation,
        EscalationUpdate,
        Rating,
        SessionEvent,
        VisitorEvent,
    )

    messages = [
        Escalation(session_id="s", reason="visitor_request"),
        EscalationUpdate(escalation_id="e1", status="acknowledged", staff_name="Chị Lan"),
        Rating(score=5, session_id="s"),
        SessionEvent(session_id="s", event="ended", reason="visitor_left"),
        VisitorEvent(event="engaged", person_id="p1", engagement="ENGAGED", bearing_rad=0.2, distance_m=1.1),
        Catalog(version="abc", categories=[CatalogCategory(id="civil_status", label="Hộ tịch")],
                procedures=[CatalogProcedure(id="x", label="làm giấy khai sinh", name="Đăng ký khai sinh",
                                             category="civil_status", search_keys=["lam giay khai sinh"])]),
    ]
    for message in messages:
        assert decode(encode(message)) == message
    with pytest.raises(ValueError):
        Rating(score=6)
    with pytest.raises(ValueError):
        VisitorEvent(event="engaged", person_id="p", bearing_rad=float("nan"))


def test_fold_key_is_the_one_folding_rule():
    from kiosk_protocol.text import fold_key

    assert fold_key("Đăng ký, KẾT HÔN!") == "dang ky ket hon"
    assert fold_key(unicodedata.normalize("NFD", "sổ đỏ")) == "so do"
