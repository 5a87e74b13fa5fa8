"""The kiosk page in real headless Chromium (playwright) against the real server in a thread."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from kiosk_protocol import Escalation, Reply, Transcript, UserInput
from kiosk_ui import BackgroundServer, EventHub, UiSettings, create_app

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/kiosk_ui.png")
CENTER = "Trung tâm Phục vụ hành chính công phường Mẫu"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]


class Kiosk:
    """A running kiosk server; ``restart()`` brings it back on the same port with the same hub."""

    def __init__(self, settings: UiSettings) -> None:
        self.hub = EventHub()
        self.inputs: queue.Queue[UserInput] = queue.Queue()
        self.settings = settings
        self.server = BackgroundServer(self._app()).start()

    def _app(self) -> FastAPI:
        return create_app(self.hub, on_input=self.inputs.put, settings=self.settings)

    @property
    def url(self) -> str:
        return self.server.url

    def restart(self) -> None:
        port = self.server.port
        self.server = BackgroundServer(self._app(), port=port).start()

    def next_input(self) -> UserInput:
        return self.inputs.get(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def start_kiosk() -> Iterator[Callable[..., Kiosk]]:
    started: list[Kiosk] = []

    def start(**settings: object) -> Kiosk:
        kiosk = Kiosk(UiSettings(center_name=CENTER, **settings))  # type: ignore[arg-type]
        started.append(kiosk)
        return kiosk

    yield start
    for kiosk in started:
        kiosk.server.stop()


@pytest.fixture
def kiosk(start_kiosk: Callable[..., Kiosk]) -> Kiosk:
    return start_kiosk()


def open_page(browser: Browser, kiosk: Kiosk) -> Page:
    """Open the page at the kiosk's portrait size and wait until its WebSocket got ``hello``."""
    page = browser.new_page(viewport={"width": 1080, "height": 1920})
    page.goto(kiosk.url + "/")
    page.wait_for_selector("body[data-connected=true]", state="attached")
    expect(page.locator("#status")).to_have_text("Mời bà con nói hoặc chạm để hỏi")
    return page


def birth_registration_reply(in_reply_to: str = "") -> Reply:
    voice = (
        "Để đăng ký khai sinh, bà con mang tờ khai, giấy chứng sinh của bé và giấy tờ tùy thân, "
        "nộp tại Quầy 1. Đăng ký đúng hạn thì được miễn lệ phí."
    )
    return Reply(
        in_reply_to=in_reply_to,
        user_text="làm giấy khai sinh cho con cần giấy tờ gì",
        intent="dang_ky_khai_sinh",
        confidence=0.93,
        procedure_id="dang_ky_khai_sinh",
        reply_voice=voice,
        reply_screen={
            "type": "procedure",
            "title": "Đăng ký khai sinh",
            "text": voice,
            "procedure": {
                "id": "dang_ky_khai_sinh",
                "code": "1.001193",
                "name": "Đăng ký khai sinh",
                "field": "Hộ tịch",
                "agency": "Ủy ban nhân dân cấp xã",
                "steps": [
                    "Nộp tờ khai và giấy tờ tại Trung tâm Phục vụ hành chính công hoặc trực tuyến.",
                    "Cán bộ kiểm tra hồ sơ, ghi vào Sổ hộ tịch.",
                    "Nhận Giấy khai sinh bản chính.",
                ],
                "papers": [
                    {"name": "Tờ khai đăng ký khai sinh", "form": "Theo mẫu của Bộ Tư pháp",
                     "original_or_copy": "original", "quantity": 1},
                    {"name": "Giấy chứng sinh", "form": None, "original_or_copy": "original", "quantity": 1},
                    {"name": "Giấy tờ tùy thân của người đi đăng ký", "form": None,
                     "original_or_copy": "present", "quantity": 1},
                ],
                "methods": [
                    {"method": "Trực tiếp", "processing_time": "Ngay trong ngày làm việc",
                     "fee": "Miễn lệ phí khi đăng ký đúng hạn"},
                    {"method": "Trực tuyến", "processing_time": "Ngay trong ngày làm việc",
                     "fee": "Miễn lệ phí khi đăng ký đúng hạn"},
                ],
                "counter": {"number": 1, "label": "Quầy 1 – Hộ tịch"},
                "online": {"available": True, "portal": "Cổng Dịch vụ công quốc gia",
                           "url": "https://dichvucong.gov.vn", "vneid": True,
                           "note": "Liên thông khai sinh – thường trú – thẻ BHYT cho trẻ dưới 6 tuổi"},
                "result": "Giấy khai sinh (bản chính)",
                "legal_basis": ["Luật Hộ tịch 2014"],
                "sources": [{"url": "https://dichvucong.gov.vn",
                             "title": "Thủ tục đăng ký khai sinh – Cổng Dịch vụ công quốc gia"}],
                "date_checked": "2026-11-23",
                "focus": "papers",
            },
            "address": None,
            "choices": [
                {"label": "Lệ phí bao nhiêu?", "text": "lệ phí làm khai sinh bao nhiêu"},
                {"label": "Nộp ở quầy nào?", "text": "nộp hồ sơ khai sinh ở quầy nào"},
            ],
        },
    )


def test_typed_question_reaches_on_input(browser: Browser, kiosk: Kiosk) -> None:
    page = open_page(browser, kiosk)
    question = "Làm giấy khai sinh cho con cần những giấy tờ gì?"
    page.fill("#ask-text", question)
    page.get_by_role("button", name="Gửi", exact=True).click()
    msg = kiosk.next_input()
    assert msg.text == question
    expect(page.locator("#waiting")).to_be_visible()
    expect(page.locator(".turn.visitor .bubble").last).to_have_text(question)
    expect(page.locator("#ask-text")).to_have_value("")

    page.fill("#ask-text", "dang ky tam tru")
    page.press("#ask-text", "Enter")
    assert kiosk.next_input().text == "dang ky tam tru"

    page.get_by_role("button", name="Gọi cán bộ").click()
    assert kiosk.next_input().text == "cho tôi gặp cán bộ"
    page.close()


def test_transcript_and_procedure_card_are_shown(browser: Browser, kiosk: Kiosk) -> None:
    page = open_page(browser, kiosk)
    kiosk.hub.publish(Transcript(utterance_id="u1", text="làm giấy khai sinh cho con cần giấy tờ gì",
                                 confidence=0.8))
    expect(page.locator(".turn.visitor .bubble")).to_have_text("làm giấy khai sinh cho con cần giấy tờ gì")
    expect(page.locator("#waiting")).to_be_visible()
    reply = birth_registration_reply()
    kiosk.hub.publish(reply)
    expect(page.locator(".turn.robot .bubble")).to_have_text(reply.reply_voice)
    expect(page.locator("#waiting")).to_be_hidden()
    card = page.locator(".card-procedure")
    proc = reply.reply_screen["procedure"]
    for step in proc["steps"]:
        expect(card.locator("ol li", has_text=step)).to_have_count(1)
    for paper in proc["papers"]:
        expect(card.locator(".paper-name", has_text=paper["name"])).to_have_count(1)
    expect(card).to_contain_text("Bản chính")
    expect(card).to_contain_text("Xuất trình bản chính để đối chiếu")
    expect(card.locator(".counter-big")).to_have_text("Quầy 1")
    expect(card).to_contain_text("Miễn lệ phí khi đăng ký đúng hạn")
    expect(card).to_contain_text("https://dichvucong.gov.vn")
    expect(card).to_contain_text("Mã thủ tục: 1.001193")
    # the visitor asked about papers: that section comes first and is highlighted
    expect(card.locator(".section").first).to_have_attribute("data-section", "papers")
    expect(card.locator(".section.focus")).to_have_count(1)

    kiosk.hub.publish_state("robot_speaking", True)
    expect(page.locator("#ind-speaking")).to_be_visible()
    expect(page.locator("#ind-speaking")).to_have_text("Robot đang trả lời…")
    page.screenshot(path=str(SCREENSHOT))

    page.get_by_role("button", name="Lệ phí bao nhiêu?").click()
    assert kiosk.next_input().text == "lệ phí làm khai sinh bao nhiêu"
    page.close()


def test_markup_is_shown_as_text(browser: Browser, kiosk: Kiosk) -> None:
    page = open_page(browser, kiosk)
    page.fill("#ask-text", "<b>x</b>")
    page.click("#send")
    assert kiosk.next_input().text == "<b>x</b>"
    expect(page.locator(".turn.visitor .bubble")).to_have_text("<b>x</b>")
    kiosk.hub.publish(Reply(intent="out_of_scope", reply_voice='<img src=x onerror="window.owned=1">',
                            reply_screen={"type": "message", "title": "<i>t</i>", "text": "<u>u</u>",
                                          "choices": [{"label": "<s>c</s>", "text": "<s>c</s>"}]}))
    expect(page.locator(".turn.robot .bubble")).to_have_text('<img src=x onerror="window.owned=1">')
    expect(page.locator(".card h2")).to_have_text("<i>t</i>")
    assert page.locator("#conversation b, #conversation img, #conversation i, #conversation s").count() == 0
    assert page.evaluate("window.owned") is None
    page.close()


def test_not_heard_states_and_escalation(browser: Browser, kiosk: Kiosk) -> None:
    page = open_page(browser, kiosk)
    kiosk.hub.publish_state("visitor_speaking", True)
    expect(page.locator("#ind-listening")).to_have_text("Đang nghe…")
    kiosk.hub.publish(Transcript(utterance_id="u2", text="Hãy subscribe cho kênh", confidence=0.1,
                                 accepted=False, reject_reason="hallucination"))
    kiosk.hub.publish_state("visitor_speaking", False)
    expect(page.locator("#ind-listening")).to_be_hidden()
    expect(page.locator("#conversation")).to_contain_text("Xin lỗi, robot chưa nghe rõ")
    expect(page.locator("#conversation")).not_to_contain_text("subscribe")
    kiosk.hub.publish(Escalation(session_id="kiosk1", reason="visitor asked for staff"))
    note = "Đã gọi cán bộ hỗ trợ, xin bà con chờ trong giây lát"
    expect(page.locator(".escalation-note")).to_have_text(note)
    page.close()


def test_no_reply_in_time_is_said_politely(browser: Browser, start_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = start_kiosk(reply_timeout_s=0.5)
    page = open_page(browser, kiosk)
    page.fill("#ask-text", "xin chào")
    page.click("#send")
    kiosk.next_input()
    expect(page.locator(".turn.system")).to_contain_text("Xin lỗi, robot chưa trả lời kịp")
    expect(page.locator("#waiting")).to_be_hidden()
    page.close()


def test_page_reconnects_and_replays_the_conversation(browser: Browser, kiosk: Kiosk) -> None:
    page = open_page(browser, kiosk)
    kiosk.server.stop()
    expect(page.locator("#status")).to_have_text("Mất kết nối, đang kết nối lại…")
    kiosk.hub.publish(birth_registration_reply())  # arrives while the page is offline
    kiosk.restart()
    expect(page.locator("#status")).to_have_text("Mời bà con nói hoặc chạm để hỏi", timeout=15_000)
    expect(page.locator(".counter-big")).to_have_text("Quầy 1")
    page.close()


def test_typed_question_falls_back_to_http_when_the_websocket_is_down(browser: Browser, kiosk: Kiosk) -> None:
    page = browser.new_page(viewport={"width": 1080, "height": 1920})
    page.route_web_socket("**/ws", lambda ws: ws.close())  # every WebSocket attempt fails at once
    page.goto(kiosk.url + "/")
    expect(page.locator("#status")).to_have_text("Mất kết nối, đang kết nối lại…")
    page.fill("#ask-text", "Xác nhận tình trạng hôn nhân cần gì?")
    page.click("#send")
    assert kiosk.next_input().text == "Xác nhận tình trạng hôn nhân cần gì?"
    expect(page.locator("#ask-text")).to_have_value("")
    page.fill("#ask-text", "   ")
    page.click("#send")
    expect(page.locator("#notice")).to_have_text("Xin bà con nhập câu hỏi rồi bấm Gửi.")
    assert kiosk.inputs.empty()
    page.close()
