"""The citizen's touchscreen in real headless Chromium, against the real ui and dialogue nodes over DDS.

One bringup (dialogue + ui, as separate processes) and one browser serve the whole module. The
catalog the page browses comes from the dialogue node on the latched ``dialogue/catalog``; touches
go to the dialogue as ``UserInput`` and its replies come back to the page; ratings arrive on
``ui/rating``; visits open and close on ``dialogue/session``. Screenshots of home, a card and the
address form at 1080×1920 and 1920×1080 are saved in ``var/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from kiosk_protocol import EscalationUpdate, encode
from tests.conftest import REPO, Kiosk, TopicRecorder, node_active

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "var" / "artifacts"
NAMESPACE = "touch_kiosk"
IDLE_S = 8.0
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.ros,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def touch(tmp_path_factory, ros_domain) -> Iterator[tuple[Kiosk, TopicRecorder, Browser]]:
    kiosk = Kiosk(tmp_path_factory.mktemp("touch"), NAMESPACE, nodes="dialogue,ui",
                  overrides={"ui": {"idle_timeout_s": IDLE_S, "printer": "none"}})
    recorder = TopicRecorder(NAMESPACE)
    try:
        recorder.wait_for(lambda: all(node_active(recorder, NAMESPACE, n) for n in ("dialogue/dialogue", "ui/ui")),
                          120, "dialogue and ui active")
        recorder.wait_for(lambda: _health(kiosk).get("catalog_version"), 30, "the catalog on the ui node")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            yield kiosk, recorder, browser
            browser.close()
    finally:
        recorder.close()
        code = kiosk.stop()
        assert code == 0, kiosk.log_tail()


def _health(kiosk: Kiosk) -> dict:
    try:
        return httpx.get(kiosk.url + "/healthz", timeout=2).json()
    except httpx.HTTPError:
        return {}


def open_page(browser: Browser, kiosk: Kiosk, viewport: dict | None = None) -> Page:
    page = browser.new_page(viewport=viewport or PORTRAIT)
    page.goto(kiosk.url + "/")
    page.wait_for_selector("body[data-connected=true][data-catalog]", state="attached")
    return page


def restart_visit(page: Page) -> None:
    """Leave the page clean for the next test: "Bắt đầu lại" (skipping the rating if offered)."""
    page.click("#restart")
    if page.locator("#rating-dialog").is_visible():
        page.click("#rating-skip")
    expect(page.locator("body")).to_have_attribute("data-view", "home")


def replies(recorder: TopicRecorder, **match) -> list[dict]:
    return [r for r in recorder.get("dialogue/reply") if all(r.get(k) == v for k, v in match.items())]


def test_a_category_opens_its_list_and_a_card_with_qr_code(touch) -> None:
    kiosk, recorder, browser = touch
    page = open_page(browser, kiosk)
    catalog = httpx.get(kiosk.url + "/api/catalog").json()
    assert len(catalog["procedures"]) >= 30
    categories = page.locator("#categories .category")
    expect(categories).to_have_count(len(catalog["categories"]))
    for cat in catalog["categories"]:  # every icon is a file of this server, and it loads
        img = page.locator(f"[data-category={cat['id']}] img")
        assert img.get_attribute("src") == f"/static/icons/{cat['icon']}"
        assert page.evaluate("(i) => i.complete && i.naturalWidth > 0", img.element_handle())
    page.click("[data-category=civil_status]")
    item = page.locator("#procedure-list [data-procedure=dang_ky_khai_sinh]")
    expect(item.locator(".proc-label")).to_have_text("Làm giấy khai sinh")  # colloquial first
    expect(item.locator(".proc-name")).to_have_text("Đăng ký khai sinh")  # official below
    before = len(recorder.get("dialogue/reply"))
    item.click()
    card = page.locator("#card-box .card-procedure")
    expect(card).to_have_attribute("data-procedure", "dang_ky_khai_sinh")
    expect(card.locator(".section").first).to_have_attribute("data-section", "papers")
    expect(card.locator(".checklist li").first).to_contain_text("Bản chính")
    expect(card.locator(".checklist li").first).to_contain_text("Số lượng: 1")
    expect(card.locator("[data-section=methods]")).to_contain_text("Nộp trực tiếp")
    expect(card.locator("[data-section=methods]")).to_contain_text("Lệ phí:")
    expect(card.locator("[data-section=methods]")).to_contain_text("Thời gian:")
    expect(card.locator(".counter-big")).to_have_text("Quầy 1")
    expect(card.locator("[data-section=counter]")).to_contain_text("Hộ tịch")
    expect(card.locator(".legal")).to_contain_text("Căn cứ pháp lý: Luật Hộ tịch 2014")
    expect(card.locator(".legal")).to_contain_text("Thông tin kiểm tra ngày 2026-11-23")
    qr = card.locator("img.qr")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src") == "/api/procedures/dang_ky_khai_sinh/qr.svg"
    page.wait_for_function("(i) => i.complete && i.naturalWidth > 0", arg=qr.element_handle())
    expect(card.locator(".print")).to_have_count(0)  # no CUPS printer here: no print button
    # the touch went to the dialogue node, which answered (and would speak) the same procedure
    reply = recorder.wait_for(lambda: next((r for r in recorder.get("dialogue/reply")[before:]
                                            if r["procedure_id"] == "dang_ky_khai_sinh"), None), 20, "the reply")
    assert reply["source"] == "screen"
    touch_input = next(i for i in recorder.get("ui/input") if i["input_id"] == reply["in_reply_to"])
    assert touch_input["action"] == "select_procedure"
    expect(page.locator("#repeat")).to_be_enabled()
    expect(page.locator("body")).to_have_attribute("data-view", "card")  # the card stays
    page.click("#back")
    expect(page.locator("#procedure-list")).to_be_visible()
    restart_visit(page)
    page.close()


def test_the_print_view_of_every_procedure_is_one_page(touch) -> None:
    from pypdf import PdfReader

    kiosk, _, browser = touch
    page = browser.new_page()
    for proc in httpx.get(kiosk.url + "/api/catalog").json()["procedures"]:
        page.goto(f"{kiosk.url}/print/{proc['id']}")
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        assert pages == 1, f"the checklist of {proc['id']} takes {pages} pages"
        if proc["id"] == "dang_ky_khai_sinh":
            (ARTIFACTS / "print_dang_ky_khai_sinh.pdf").write_bytes(pdf)
            assert page.locator(".qr svg").count() == 1
            assert "Giấy tờ cần mang" in page.inner_text("body")
    page.close()


@pytest.mark.parametrize(("typed", "expected"), [
    ("dang ky tam tru", "dang_ky_tam_tru"),  # no diacritics
    ("so do", "cap_gcn_quyen_su_dung_dat_lan_dau"),  # an old name, no diacritics
    ("hộ khẩu", "dang_ky_thuong_tru"),  # an old name
    ("chứng minh nhân dân", "cap_the_can_cuoc"),  # an old name
    ("dnag ky ket hon", "dang_ky_ket_hon"),  # a typo
    ("khai si", "dang_ky_khai_sinh"),  # partial words, as typed
])
def test_search_finds_procedures_the_way_citizens_type(touch, typed: str, expected: str) -> None:
    kiosk, _, browser = touch
    page = open_page(browser, kiosk)
    page.click("#search-text")
    page.keyboard.type(typed)  # one keystroke at a time: results follow each one
    page.wait_for_function("(q) => window.kioskMetrics.search.some((s) => s.q === q)", arg=typed)
    ids = page.eval_on_selector_all("#search-results .procedure", "(bs) => bs.map((b) => b.dataset.procedure)")[:3]
    assert expected in ids, (typed, ids)
    if expected in ("dang_ky_tam_tru", "cap_gcn_quyen_su_dung_dat_lan_dau", "cap_the_can_cuoc"):
        assert ids[0] == expected, (typed, ids)
    assert page.evaluate("window.kioskMetrics.search.length") >= 1
    page.close()


def test_a_typed_question_gets_a_card_and_one_touch_rates_it(touch) -> None:
    kiosk, recorder, browser = touch
    page = open_page(browser, kiosk)
    page.fill("#ask-text", "cho em hỏi làm giấy khai sinh cần giấy tờ gì")
    page.click("#send")
    card = page.locator("#conversation .card-procedure")
    expect(card).to_have_attribute("data-procedure", "dang_ky_khai_sinh", timeout=20_000)
    expect(page.locator("body")).to_have_attribute("data-view", "conversation")
    expect(page.locator("#conversation .turn.visitor .bubble")).to_have_text(
        "cho em hỏi làm giấy khai sinh cần giấy tờ gì")
    # the page may paint the card before this test's own subscriber has the same reply
    reply = recorder.wait_for(lambda: replies(recorder, user_text="cho em hỏi làm giấy khai sinh cần giấy tờ gì"),
                              15, "the reply on the topic")[-1]
    expect(page.locator("#rating")).to_be_visible()
    page.click("#rating .face[data-score='4']")
    rating = recorder.wait_for(lambda: next((r for r in recorder.get("ui/rating")
                                             if r["reply_id"] == reply["reply_id"]), None), 15, "the rating")
    assert (rating["score"], rating["trigger"], rating["procedure_id"]) == (4, "after_answer", "dang_ky_khai_sinh")
    assert rating["session_id"] == reply["session_id"] and rating["kind"] == "rating"
    expect(page.locator("#rating")).to_be_hidden()
    expect(page.locator("#notice")).to_have_text("Cảm ơn bà con đã đánh giá!")
    restart_visit(page)
    page.close()


def test_when_unsure_the_kiosk_offers_buttons_and_one_touch_answers(touch) -> None:
    kiosk, recorder, browser = touch
    page = open_page(browser, kiosk)
    buttons = page.locator("#conversation .candidates .candidate")
    for question in ("giấy tờ nhà đất", "đăng ký"):  # questions the dialogue model is unsure about
        page.fill("#ask-text", question)
        page.click("#send")
        reply = recorder.wait_for(lambda q=question: next(iter(replies(recorder, user_text=q)), None), 20, "reply")
        if reply["reply_screen"].get("candidates"):
            break
    else:
        pytest.fail("no question made the dialogue unsure; pick another")
    expect(page.locator("#conversation .candidates-title").last).to_have_text("Có phải bà con muốn hỏi:")
    candidates = reply["reply_screen"]["candidates"]
    expect(buttons).to_have_count(len(candidates))
    first = candidates[0]
    expect(buttons.first.locator(".proc-label")).to_have_text(first["label"])
    buttons.first.click()
    card = page.locator("#conversation .card-procedure").last
    expect(card).to_have_attribute("data-procedure", first["procedure_id"], timeout=20_000)
    chosen = [i for i in recorder.get("ui/input") if i["action"] == "select_procedure"]
    assert chosen[-1]["procedure_id"] == first["procedure_id"]
    page.fill("#ask-text", "đăng ký")  # unsure again: "Không phải" leads to the categories
    page.click("#send")
    expect(page.locator("#conversation .not-this").last).to_be_visible(timeout=20_000)
    page.locator("#conversation .not-this").last.click()
    expect(page.locator("body")).to_have_attribute("data-view", "home")
    expect(page.locator("#categories .category").first).to_be_visible()
    restart_visit(page)
    page.close()


def test_address_form_new_ward_split_ward_and_not_found(touch) -> None:
    kiosk, _, browser = touch
    page = open_page(browser, kiosk)
    page.click("#btn-address")
    result = page.locator("#address-result")
    page.fill("#address-text", "phuong ben thanh quan 1 tp hcm")  # typed freely, no diacritics
    page.click("#address-send")
    expect(result.locator(".address-new")).to_have_text("Phường Bến Thành, Thành phố Hồ Chí Minh", timeout=20_000)
    page.fill("#address-text", "phuong cua nam quan hoan kiem ha noi")  # split between several new wards
    page.click("#address-send")
    expect(result).to_contain_text("đã được chia", timeout=20_000)
    assert result.locator(".address-candidates li").count() >= 2
    expect(result.locator(".address-candidates")).to_contain_text("Phường Cửa Nam")
    page.fill("#address-text", "xa abc huyen xyz")
    page.click("#address-send")
    expect(result).to_contain_text("Chưa tìm thấy", timeout=20_000)
    expect(page.locator("body")).to_have_attribute("data-view", "address")
    page.fill("#address-text", "")
    page.click("#address-send")
    expect(page.locator("#notice")).to_have_text("Xin bà con nhập địa chỉ cũ rồi bấm Tra cứu.")
    restart_visit(page)
    page.close()


def test_listen_again_text_size_and_restart_with_rating(touch) -> None:
    kiosk, recorder, browser = touch
    page = open_page(browser, kiosk)
    page.click("[data-category=residence]")
    page.click("[data-procedure=dang_ky_tam_tru]")
    recorder.wait_for(lambda: replies(recorder, procedure_id="dang_ky_tam_tru"), 20, "the tạm trú reply")
    page.click("#repeat")  # "Nghe lại": the dialogue answers the same again (and the tts speaks it)
    again = recorder.wait_for(lambda: replies(recorder, intent="repeat"), 20, "the repeated reply")[-1]
    assert again["procedure_id"] == "dang_ky_tam_tru"
    page.click("#text-larger")
    page.click("#text-larger")
    assert page.evaluate("document.documentElement.dataset.textScale") == "1.3"
    big = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.reload()  # the size stays for this visit
    page.wait_for_selector("body[data-connected=true][data-catalog]", state="attached")
    assert page.evaluate("document.documentElement.dataset.textScale") == "1.3"
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)") == big
    page.click("#restart")  # an answer was given and not rated: the faces come first
    expect(page.locator("#rating-dialog")).to_be_visible()
    sessions_before = len(recorder.get("dialogue/session"))
    page.click("#rating-dialog .face[data-score='5']")
    recorder.wait_for(lambda: any(r["trigger"] == "restart" and r["score"] == 5 for r in recorder.get("ui/rating")),
                      15, "the restart rating")
    recorder.wait_for(lambda: any(e["event"] == "ended" and e["reason"] == "restart"
                                  for e in recorder.get("dialogue/session")[sessions_before:]), 15, "visit closed")
    expect(page.locator("body")).to_have_attribute("data-view", "home")
    assert page.evaluate("document.documentElement.dataset.textScale") == "1"  # the next citizen starts fresh
    page.close()


def test_idle_timeout_returns_home_and_clears_every_trace(touch) -> None:
    kiosk, recorder, browser = touch
    page = open_page(browser, kiosk)
    history = page.evaluate("history.length")
    page.fill("#ask-text", "đăng ký kết hôn cần gì")
    page.click("#send")
    expect(page.locator("#conversation .card-procedure")).to_have_count(1, timeout=20_000)
    session_id = recorder.wait_for(lambda: replies(recorder, user_text="đăng ký kết hôn cần gì"), 15,
                                   "the reply on the topic")[-1]["session_id"]
    page.click("#home")
    page.fill("#search-text", "khai sinh")
    page.click("#text-larger")
    page.wait_for_selector("body[data-cleared]", state="attached", timeout=(IDLE_S + 10) * 1000)
    expect(page.locator("body")).to_have_attribute("data-view", "home")
    assert page.locator("#conversation > *").count() == 0
    assert page.input_value("#search-text") == "" and page.input_value("#ask-text") == ""
    assert page.locator("#search-results").is_hidden()
    assert page.evaluate("history.length") == history  # the page never adds to the browser's history
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("document.documentElement.dataset.textScale") == "1"
    assert "cần gì" not in page.inner_text("body") and not page.locator("#card-box > *").count()
    recorder.wait_for(lambda: any(e["session_id"] == session_id and e["event"] == "ended"
                                  for e in recorder.get("dialogue/session")), 15, "the dialogue closing the visit")
    later = open_page(browser, kiosk)  # a page that connects later replays nothing of that visit
    time.sleep(0.5)
    assert later.locator("#conversation > *").count() == 0
    assert later.evaluate("document.body.dataset.view") == "home"
    assert _health(kiosk)["recent_events"] == 0
    later.close()
    page.close()


def test_staff_acknowledgement_is_shown_on_the_screen(touch) -> None:
    kiosk, recorder, browser = touch
    page = open_page(browser, kiosk)
    before = len(recorder.get("dialogue/escalation"))
    page.click("#call-staff")
    escalation = recorder.wait_for(lambda: next(iter(recorder.get("dialogue/escalation")[before:]), None), 20,
                                   "the escalation")
    update = EscalationUpdate(escalation_id=escalation["escalation_id"], session_id=escalation["session_id"],
                              status="acknowledged", staff_name="Chị Lan",
                              message_vi="Chị Lan đã nhận yêu cầu, đang đến quầy hỗ trợ bà con.")
    recorder.publish("dashboard/escalation_update", encode(update))
    expect(page.get_by_test_id("staff-ack")).to_have_text("Chị Lan đã nhận yêu cầu, đang đến quầy hỗ trợ bà con.",
                                                          timeout=15_000)
    restart_visit(page)
    expect(page.get_by_test_id("staff-ack")).to_be_hidden()
    page.close()


def test_the_microphone_button_follows_the_microphone_diagnostics(touch) -> None:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    kiosk, recorder, browser = touch
    page = open_page(browser, kiosk)
    expect(page.locator("#mic")).to_be_hidden()  # no microphone node reports a device
    pub = recorder.node.create_publisher(DiagnosticArray, "/diagnostics", 10)
    time.sleep(0.5)

    def report(source: str) -> None:
        status = DiagnosticStatus(name=f"/{NAMESPACE}/speech/microphone", message="test", values=[
            KeyValue(key="source", value=source), KeyValue(key="lifecycle_state", value="active")])
        pub.publish(DiagnosticArray(status=[status]))

    report("device")
    expect(page.locator("#mic")).to_be_visible(timeout=10_000)
    page.click("#mic")
    expect(page.locator("#mic")).to_have_attribute("aria-pressed", "true")
    page.click("#mic")
    recorder.wait_for(lambda: recorder.get("ui/push_to_talk")[-2:] == [True, False], 10, "push-to-talk on/off")
    report("wav")  # only the simulated microphone: no button
    expect(page.locator("#mic")).to_be_hidden(timeout=10_000)
    recorder.node.destroy_publisher(pub)
    page.close()


_CONTRAST_JS = """(selectors) => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const bgOf = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const sel of selectors) {
    for (const node of document.querySelectorAll(sel)) {
      if (!node.offsetParent || !node.textContent.trim()) continue;
      out.push([sel, rgb(getComputedStyle(node).color).slice(0, 3), bgOf(node)]);
      break;
    }
  }
  return out;
}"""
_TEXT_SELECTORS = [
    "h1", ".status", ".welcome-title", ".category-label", ".category-count", ".btn.home-action", ".btn.staff",
    ".btn.secondary", ".btn.primary", ".nav-btn", ".view-title", ".proc-label", ".proc-name", ".card h2", ".lead",
    ".paper-name", ".paper-meta", ".counter-big", ".counter-badge", ".code", ".legal p", ".url", ".hint",
    ".form-label", ".section h3", ".face-label", ".rating-title", ".address-new", ".bubble",
]


def _luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: list[float], bg: list[float]) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


_ENGLISH = re.compile(r"\b(the|search|loading|error|submit|back|home|send|print|please|click|menu|not found|"
                      r"invalid|request|field|body|procedure|limit)\b", re.IGNORECASE)


def _check_layout(page: Page, what: str) -> None:
    """Touch targets ≥ 48 px, WCAG AA contrast, nothing wider than the screen, Vietnamese text only."""
    small = page.evaluate("""() => [...document.querySelectorAll('button, input, [role=button]')]
        .filter((n) => n.offsetParent && getComputedStyle(n).visibility !== 'hidden')
        .map((n) => [n.id || n.className || n.tagName, n.getBoundingClientRect()])
        .filter(([, r]) => r.width < 48 || r.height < 48).map(([n, r]) => `${n} ${r.width}x${r.height}`)""")
    assert not small, f"{what}: touch targets under 48 px: {small}"
    for selector, fg, bg in page.evaluate(_CONTRAST_JS, _TEXT_SELECTORS):
        ratio = contrast(fg, bg)
        assert ratio >= 4.5, f"{what}: {selector} contrast {ratio:.2f} ({fg} on {bg}) is under WCAG AA 4.5"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{what}: too wide"
    text = page.inner_text("body")
    visible_english = _ENGLISH.findall(text.replace("VNeID", ""))
    assert not visible_english, f"{what}: English words on the citizens' screen: {visible_english}"


@pytest.mark.parametrize("viewport", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_layout_contrast_touch_targets_and_screenshots(touch, viewport: dict) -> None:
    kiosk, _, browser = touch
    size = f"{viewport['width']}x{viewport['height']}"
    page = open_page(browser, kiosk, viewport)
    _check_layout(page, f"home {size}")
    page.screenshot(path=str(ARTIFACTS / f"home_{size}.png"))
    page.click("[data-category=civil_status]")
    page.click("[data-procedure=dang_ky_khai_sinh]")
    expect(page.locator("#card-box .card-procedure")).to_be_visible()
    expect(page.locator("#rating")).to_be_visible(timeout=20_000)  # the dialogue's answer arrived
    page.wait_for_function("document.querySelector('img.qr').naturalWidth > 0")
    _check_layout(page, f"card {size}")
    page.screenshot(path=str(ARTIFACTS / f"card_{size}.png"))
    page.click("#home")
    page.click("#btn-address")
    page.fill("#address-text", "phuong ben thanh quan 1 tp hcm")
    page.click("#address-send")
    expect(page.locator("#address-result .address-new")).to_be_visible(timeout=20_000)
    _check_layout(page, f"address {size}")
    page.screenshot(path=str(ARTIFACTS / f"address_{size}.png"))
    restart_visit(page)
    page.close()


def test_the_page_cannot_navigate_away(touch) -> None:
    kiosk, _, browser = touch
    res = httpx.get(kiosk.url + "/")
    assert "default-src 'self'" in res.headers["content-security-policy"]
    page = open_page(browser, kiosk)
    history = page.evaluate("history.length")
    page.evaluate("""() => { const a = document.createElement('a'); a.id = 'outside';
        a.href = 'https://dichvucong.gov.vn'; a.textContent = 'x'; document.body.append(a); }""")
    page.click("#outside")
    time.sleep(0.3)
    assert page.url == kiosk.url + "/"
    assert page.evaluate("window.open('https://dichvucong.gov.vn')") is None
    assert page.evaluate("history.length") == history
    assert json.loads(page.inner_text("#kiosk-config"))["idle_timeout_s"] == IDLE_S
    page.close()
