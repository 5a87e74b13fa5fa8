"""The kiosk page's server over real HTTP and WebSocket (uvicorn in a thread, httpx, websockets)."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from kiosk_protocol import Reply, Transcript, UserInput, decode
from kiosk_ui import BackgroundServer, EventHub, UiSettings, create_app

CENTER = "Trung tâm Phục vụ hành chính công phường Mẫu"


@dataclass
class Kiosk:
    hub: EventHub
    server: BackgroundServer
    inputs: queue.Queue[UserInput] = field(default_factory=queue.Queue)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ws_url(self) -> str:
        return self.server.url.replace("http://", "ws://") + "/ws"


@pytest.fixture
def kiosk() -> Iterator[Kiosk]:
    hub = EventHub(history_size=50)
    inputs: queue.Queue[UserInput] = queue.Queue()
    app = create_app(hub, on_input=inputs.put, settings=UiSettings(center_name=CENTER, session_id="kiosk1"))
    server = BackgroundServer(app).start()
    try:
        yield Kiosk(hub=hub, server=server, inputs=inputs)
    finally:
        server.stop()


def recv_json(ws: ClientConnection) -> dict:
    return json.loads(ws.recv(timeout=5))


def recv_until(ws: ClientConnection, kind: str) -> tuple[str, dict]:
    """Skip frames until one of ``kind``; return its raw text and parsed form."""
    for _ in range(50):
        raw = ws.recv(timeout=5)
        obj = json.loads(raw)
        if obj["kind"] == kind:
            return raw, obj
    raise AssertionError(f"no {kind!r} frame arrived")


def sample_reply() -> Reply:
    return Reply(
        in_reply_to="abc",
        user_text="làm giấy khai sinh cần gì",
        intent="dang_ky_khai_sinh",
        confidence=0.91,
        procedure_id="dang_ky_khai_sinh",
        reply_voice="Bà con nộp tờ khai và giấy chứng sinh tại Quầy 1.",
        reply_screen={
            "type": "procedure",
            "title": "Đăng ký khai sinh",
            "text": "Bà con nộp tờ khai và giấy chứng sinh tại Quầy 1.",
            "procedure": {"id": "dang_ky_khai_sinh", "name": "Đăng ký khai sinh", "steps": ["Nộp hồ sơ"]},
            "address": None,
            "choices": [],
        },
    )


def test_page_is_served_with_escaped_settings_and_local_assets(kiosk: Kiosk) -> None:
    page = httpx.get(kiosk.url + "/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert CENTER in page.text
    assert "Mời bà con nói hoặc chạm để hỏi" in page.text
    assert "Gọi cán bộ" in page.text
    for asset in ("/static/kiosk.js", "/static/kiosk.css"):
        assert asset in page.text
        res = httpx.get(kiosk.url + asset)
        assert res.status_code == 200
        assert "http://" not in res.text and "https://" not in res.text  # no CDN, nothing external
    script = httpx.get(kiosk.url + "/static/kiosk.js").text
    for html_sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write"):
        assert html_sink not in script  # every text goes through textContent
    assert httpx.get(kiosk.url + "/healthz").json()["status"] == "ok"


def test_center_name_markup_is_escaped() -> None:
    hub = EventHub()
    settings = UiSettings(center_name="A <script>x</script>")
    server = BackgroundServer(create_app(hub, settings=settings)).start()
    try:
        text = httpx.get(server.url + "/").text
    finally:
        server.stop()
    assert "<script>x</script>" not in text
    assert "A &lt;script&gt;x&lt;/script&gt;" in text


def test_ask_calls_on_input_with_nfc_text(kiosk: Kiosk) -> None:
    nfd = unicodedata.normalize("NFD", "  Đăng ký khai sinh ở quầy nào?  ")
    res = httpx.post(kiosk.url + "/api/ask", json={"text": nfd})
    assert res.status_code == 202
    msg = kiosk.inputs.get(timeout=5)
    assert isinstance(msg, UserInput)
    assert msg.text == "Đăng ký khai sinh ở quầy nào?"
    assert unicodedata.is_normalized("NFC", msg.text)
    assert msg.action == "text"
    assert msg.session_id == "kiosk1"
    assert res.json() == {"input_id": msg.input_id, "session_id": "kiosk1"}

    res = httpx.post(kiosk.url + "/api/ask", json={"text": "dang ky tam tru", "session_id": "s2"})
    assert res.status_code == 202
    assert kiosk.inputs.get(timeout=5).session_id == "s2"


@pytest.mark.parametrize(
    ("body", "vietnamese", "english"),
    [
        ({"text": ""}, "Câu hỏi đang trống", "text is empty"),
        ({"text": " \n\t "}, "Câu hỏi đang trống", "text is empty"),
        ({"text": "a" * 10_001}, "Câu hỏi quá dài", "the limit is 10000"),
        ({}, "Thiếu thông tin bắt buộc 'text'", "field 'text' is required"),
        ({"text": 42}, "", "valid string"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(
    kiosk: Kiosk, body: dict, vietnamese: str, english: str
) -> None:
    res = httpx.post(kiosk.url + "/api/ask", json=body)
    assert res.status_code == 422
    message = res.json()["message"]
    assert vietnamese in message
    assert english in message
    assert kiosk.inputs.empty()


def test_exactly_10000_characters_is_accepted(kiosk: Kiosk) -> None:
    res = httpx.post(kiosk.url + "/api/ask", json={"text": "a" * 10_000})
    assert res.status_code == 202
    assert len(kiosk.inputs.get(timeout=5).text) == 10_000


def test_reply_published_from_another_thread_reaches_the_websocket(kiosk: Kiosk) -> None:
    reply = sample_reply()
    with connect(kiosk.ws_url) as ws:
        assert recv_json(ws) == {"kind": "hello", "replay": 0}
        publisher = threading.Thread(target=kiosk.hub.publish, args=(reply,))
        publisher.start()
        publisher.join()
        raw, _ = recv_until(ws, "reply")
    received = decode(raw, expected=Reply)
    assert received == reply
    assert received.reply_screen["procedure"]["steps"] == ["Nộp hồ sơ"]


def test_every_connected_client_gets_the_event_and_states(kiosk: Kiosk) -> None:
    with connect(kiosk.ws_url) as a, connect(kiosk.ws_url) as b:
        for ws in (a, b):
            recv_until(ws, "hello")
        threading.Thread(target=kiosk.hub.publish_state, args=("robot_speaking", True)).start()
        for ws in (a, b):
            _, state = recv_until(ws, "state")
            assert state == {"kind": "state", "name": "robot_speaking", "value": True}


def test_a_late_client_receives_recent_events_and_states(kiosk: Kiosk) -> None:
    transcript = Transcript(utterance_id="u1", text="cho hỏi làm khai sinh", confidence=0.8)
    reply = sample_reply()
    kiosk.hub.publish(transcript)
    kiosk.hub.publish(reply)
    kiosk.hub.publish({"kind": "status", "text": "Robot sẵn sàng"})
    kiosk.hub.publish_state("visitor_speaking", False)
    with connect(kiosk.ws_url) as ws:
        hello = recv_json(ws)
        assert hello == {"kind": "hello", "replay": 4}
        frames = [ws.recv(timeout=5) for _ in range(4)]
    assert decode(frames[0], expected=Transcript) == transcript
    assert decode(frames[1], expected=Reply) == reply
    assert json.loads(frames[2]) == {"kind": "status", "text": "Robot sẵn sàng"}
    assert json.loads(frames[3]) == {"kind": "state", "name": "visitor_speaking", "value": False}


def test_history_keeps_only_the_last_n_events() -> None:
    hub = EventHub(history_size=3)
    for i in range(5):
        hub.publish({"kind": "status", "text": f"e{i}"})
    assert [json.loads(e)["text"] for e in hub.recent()] == ["e2", "e3", "e4"]


def test_text_sent_over_the_websocket_reaches_on_input(kiosk: Kiosk) -> None:
    with connect(kiosk.ws_url) as ws:
        recv_until(ws, "hello")
        ws.send(json.dumps({"kind": "user_input", "text": "chung thuc ban sao o dau", "client_ref": 7}))
        _, ack = recv_until(ws, "ack")
        msg = kiosk.inputs.get(timeout=5)
        assert msg.text == "chung thuc ban sao o dau"
        assert ack == {"kind": "ack", "input_id": msg.input_id, "client_ref": 7}
        raw, _ = recv_until(ws, "user_input")  # echoed to every page as protocol JSON
        assert decode(raw, expected=UserInput).input_id == msg.input_id

        ws.send(json.dumps({"kind": "user_input", "text": "   "}))
        _, error = recv_until(ws, "error")
        assert "Câu hỏi đang trống" in error["message"]
        ws.send("not json")
        _, error = recv_until(ws, "error")
        assert "JSON" in error["message"]
    assert kiosk.inputs.empty()


def test_ending_the_session_clears_the_conversation(kiosk: Kiosk) -> None:
    kiosk.hub.publish(sample_reply())
    with connect(kiosk.ws_url) as ws:
        assert recv_json(ws)["replay"] == 1
        recv_until(ws, "reply")
        res = httpx.post(kiosk.url + "/api/session", json={"action": "end"})
        assert res.status_code == 202
        recv_until(ws, "clear")
    msg = kiosk.inputs.get(timeout=5)
    assert (msg.action, msg.session_id) == ("end_session", "kiosk1")
    assert kiosk.hub.recent() == []
    assert httpx.post(kiosk.url + "/api/session", json={"action": "pause"}).status_code == 422


def test_a_failing_callback_gives_503_with_a_reason() -> None:
    def broken(msg: UserInput) -> None:
        raise OSError("ROS publisher is gone")

    server = BackgroundServer(create_app(EventHub(), on_input=broken)).start()
    try:
        res = httpx.post(server.url + "/api/ask", json={"text": "xin chào"})
    finally:
        server.stop()
    assert res.status_code == 503
    assert "ROS publisher is gone" in res.json()["detail"]


def test_publish_rejects_payloads_without_a_kind() -> None:
    hub = EventHub()
    with pytest.raises(ValueError, match="kind"):
        hub.publish({"text": "no kind"})
    with pytest.raises(ValueError, match="not JSON"):
        hub.publish("{oops")
    with pytest.raises(ValueError, match="invalid kiosk message"):
        hub.publish('{"kind": "reply", "intent": 3}')
    with pytest.raises(ValueError, match="invalid kiosk message"):
        hub.publish({"kind": "transcript", "text": "no utterance id"})
    hub.publish(sample_reply().model_dump_json())  # a JSON string from a ROS topic is fine
    assert decode(hub.recent()[0], expected=Reply).intent == "dang_ky_khai_sinh"


def test_a_slow_client_is_cut_off_instead_of_growing_memory() -> None:
    async def scenario() -> tuple[bool, int, object]:
        hub = EventHub(client_queue_size=2)
        hub.attach_loop(asyncio.get_running_loop())
        sub = hub.subscribe()
        publisher = threading.Thread(
            target=lambda: [hub.publish({"kind": "status", "text": str(i)}) for i in range(5)]
        )
        publisher.start()
        await asyncio.to_thread(publisher.join)
        for _ in range(100):  # let the loop run the scheduled deliveries
            await asyncio.sleep(0)
        return sub.overflowed, hub.client_count, sub.queue.get_nowait()

    overflowed, clients, first = asyncio.run(scenario())
    assert overflowed
    assert clients == 0
    assert first is None  # the sender's "close now" sentinel, the backlog was dropped


def test_unanswered_inputs_are_sent_again_until_answered_or_too_old() -> None:
    from kiosk_protocol import UserInput
    from kiosk_ui.delivery import PendingInputs

    pending = PendingInputs(resend_after_s=3.0, give_up_s=10.0)
    question, answered = UserInput(text="khai sinh"), UserInput(text="kết hôn")
    restart = UserInput(action="end_session")
    for item in (question, answered, restart):
        pending.sent(item, now_s=0.0)
    assert len(pending) == 2, "an end_session expects no reply"
    assert pending.due(1.0) == []
    pending.answered(answered.input_id)
    assert [u.input_id for u in pending.due(3.0)] == [question.input_id]
    assert pending.due(4.0) == [] and [u.input_id for u in pending.due(6.5)] == [question.input_id]
    assert pending.due(10.5) == [] and len(pending) == 0 and pending.given_up == 1 and pending.resent == 2
