"""The center's dashboard with two real kiosks over DDS, driven in headless Chromium.

Two kiosks (dialogue + ui nodes each, namespaces kiosk1 and kiosk2) and the dashboard node run
from their own bringups as separate processes. A staff member logs in and sees both kiosks'
health; a citizen asks for staff on kiosk 2 and the escalation appears live; the staff member
acknowledges it and kiosk 2's page receives it over its WebSocket; an admin edits a KB record
with an error (shown at its field), fixes it, retrains (the real `python -m dialogue train`,
once), and the running kiosks answer with the new text. Then the dashboard's storage fills up
(a second dashboard with a small `storage.max_size_mb`, i.e. SQLite `max_page_count`) while the
kiosks keep answering, and the kiosks keep answering with the dashboard stopped; a restarted
dashboard still has what it stored. Screenshots go to test-artifacts/dashboard/ (git-ignored).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from websockets.sync.client import connect

from tests.conftest import REPO, Kiosk, TopicRecorder, node_active

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
ADMIN_PASSWORD = "mật khẩu quản trị 2025"
STAFF_PASSWORD = "mật khẩu của chị Lan"
NEW_TIME = "Trả kết quả sau hai giờ làm việc"

pytestmark = [
    pytest.mark.ros,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]


class PageEvents:
    """A WebSocket client of a kiosk's own page (/ws), recording every event it pushes."""

    def __init__(self, url: str) -> None:
        self.events: list[dict] = []
        self._ws = connect(url.replace("http", "ws") + "/ws", open_timeout=10).__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._ws:
                self.events.append(json.loads(raw))
        except Exception:  # closed at the end
            return

    def of_kind(self, kind: str) -> list[dict]:
        return [e for e in list(self.events) if e.get("kind") == kind]

    def close(self) -> None:
        self._ws.close()


class Center:
    def __init__(self, tmp: Path, recorder: TopicRecorder, kiosks: dict[str, Kiosk], dashboard: Kiosk) -> None:
        self.tmp, self.recorder, self.kiosks, self.dashboard = tmp, recorder, kiosks, dashboard
        self.extra: dict[str, Kiosk] = {}  # other dashboards a test started (their logs are kept)


def wait_active(recorder: TopicRecorder, names: list[tuple[str, str]], timeout_s: float = 120) -> None:
    recorder.wait_for(lambda: all(node_active(recorder, ns, n) for ns, n in names), timeout_s,
                      f"{names} active")


def start_dashboard(tmp: Path, namespace: str, kb_root: Path, model_dir: Path, **dashboard_params) -> Kiosk:
    params = {"kb": {"kb_dir": str(kb_root), "model_dir": str(model_dir)}, "stale_after_s": 4.0, **dashboard_params}
    return Kiosk(tmp, namespace, nodes="dashboard", overrides={"dashboard": params}, dashboard_namespace=namespace)


def create_admin(db: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kiosk_ui.dashboard", "create-admin", "--db", str(db),
                           "--display-name", "Anh Quản", "--password-stdin"], input=ADMIN_PASSWORD + "\n",
                          text=True, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def center(tmp_path_factory, ros_domain):
    tmp = tmp_path_factory.mktemp("center")
    shutil.copytree(REPO / "dialogue" / "kb", tmp / "kb")  # the KB and model the kiosks load and staff edit
    shutil.copytree(REPO / "models" / "dialogue", tmp / "model")
    dialogue = {"kb_dir": str(tmp / "kb" / "procedures"), "model_dir": str(tmp / "model")}
    kiosks = {ns: Kiosk(tmp / ns, ns, nodes="dialogue,ui", overrides={"dialogue": dialogue})
              for ns in ("kiosk1", "kiosk2")}
    dashboard = start_dashboard(tmp / "center", "center", tmp / "kb", tmp / "model")
    recorder = TopicRecorder("kiosk2")
    center_obj = None
    try:
        wait_active(recorder, [(ns, n) for ns in kiosks for n in ("dialogue/dialogue", "ui/ui")]
                    + [("center", "dashboard/dashboard")])
        create_admin(tmp / "center" / "dashboard.db")
        center_obj = Center(tmp, recorder, kiosks, dashboard)
        yield center_obj
    finally:
        recorder.close()
        started = {**kiosks, **getattr(center_obj, "extra", {}),
                   "dashboard": getattr(center_obj, "dashboard", dashboard)}
        codes = {name: k.stop() for name, k in started.items()}
        (ARTIFACTS / "logs").mkdir(parents=True, exist_ok=True)
        for name, k in started.items():  # the bringup logs, for a failure's post-mortem
            shutil.copyfile(k.log_path, ARTIFACTS / "logs" / f"{name}.log")
        assert all(code == 0 for code in codes.values()), (codes, dashboard.log_tail())


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


def browser_login(browser, url: str, username: str, password: str) -> Page:
    page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_url(url + "/")
    page.wait_for_selector("body[data-connected=true]", state="attached", timeout=15000)
    return page


def api_login(url: str, username: str, password: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=url, timeout=30)
    token = c.get("/api/auth/csrf").json()["csrf_token"]
    r = c.post("/api/auth/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def ask(kiosk: Kiosk, text: str) -> None:
    r = httpx.post(kiosk.url + "/api/ask", json={"text": text}, timeout=10)
    assert r.status_code == 202, r.text


def test_staff_logs_in_and_sees_both_kiosks_health(center, browser):
    admin, csrf = api_login(center.dashboard.dashboard_url, "admin", ADMIN_PASSWORD)
    r = admin.post("/api/accounts", json={"username": "lan", "display_name": "Chị Lan", "role": "staff",
                                          "password": STAFF_PASSWORD}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    page = browser_login(browser, center.dashboard.dashboard_url, "lan", STAFF_PASSWORD)
    for ns in ("kiosk1", "kiosk2"):
        card = page.locator(f"[data-testid=kiosk-card][data-kiosk={ns}]")
        for node in ("dialogue/dialogue", "ui/ui"):
            expect(card.locator(f"[data-testid=node-row][data-node='{node}']")).to_have_attribute(
                "data-level", "OK", timeout=20000)
        expect(card.locator("[data-testid=kiosk-level]")).to_have_attribute("data-level", "OK")
        expect(card.locator("[data-testid=host-cpu]")).to_contain_text("CPU")
        expect(card.locator("[data-testid=host-ram]")).to_contain_text("RAM")
        expect(card).to_contain_text("dialogue model and knowledge base loaded")
    expect(page.locator("[data-testid=kiosk-card][data-kiosk=center]")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "01-live-two-kiosks.png"), full_page=True)
    page.context.close()


def test_a_citizen_asks_for_staff_on_kiosk2_and_the_acknowledgement_reaches_its_page(center, browser):
    page = browser_login(browser, center.dashboard.dashboard_url, "lan", STAFF_PASSWORD)
    kiosk2_page, kiosk1_page = PageEvents(center.kiosks["kiosk2"].url), PageEvents(center.kiosks["kiosk1"].url)
    kiosk2_screen = browser.new_context(viewport={"width": 1080, "height": 1920}).new_page()  # the citizen's screen
    try:
        kiosk2_screen.goto(center.kiosks["kiosk2"].url + "/")
        kiosk2_screen.wait_for_selector("body[data-connected=true][data-catalog]", state="attached", timeout=15000)
        ask(center.kiosks["kiosk2"], "cho tôi gặp cán bộ")
        card = page.locator("[data-testid=escalation][data-kiosk=kiosk2]")
        expect(card).to_be_visible(timeout=10000)
        expect(card).to_contain_text("cho tôi gặp cán bộ")
        expect(page.locator("[data-testid=alert-banner]")).to_contain_text("kiosk2")
        expect(page.locator("body")).to_have_attribute("data-beeps", "1")  # the WebAudio alert sounded
        assert page.locator("body").get_attribute("data-audio-state") == "running"
        expect(page.locator("#sound")).to_be_hidden()  # no "turn the sound on" button while sound works
        conversation = page.locator("[data-testid=kiosk-card][data-kiosk=kiosk2] [data-testid=conversation]")
        expect(conversation).to_contain_text("cho tôi gặp cán bộ")
        page.screenshot(path=str(ARTIFACTS / "02-escalation-alert.png"), full_page=True)
        escalation_id = card.get_attribute("data-escalation-id")
        card.locator("[data-testid=ack]").click()
        expect(card).to_have_attribute("data-status", "acknowledged")
        center.recorder.wait_for(lambda: kiosk2_page.of_kind("escalation_update"), 10,
                                 "the escalation_update on kiosk 2's page WebSocket")
        update = kiosk2_page.of_kind("escalation_update")[0]
        assert update["escalation_id"] == escalation_id and update["status"] == "acknowledged"
        assert update["staff_name"] == "Chị Lan" and "đang đến" in update["message_vi"]
        expect(kiosk2_screen.get_by_test_id("staff-ack")).to_contain_text("Chị Lan", timeout=10000)
        kiosk2_screen.screenshot(path=str(ARTIFACTS / "03b-kiosk2-screen-acknowledged.png"))
        page.screenshot(path=str(ARTIFACTS / "03-escalation-acknowledged.png"), full_page=True)
        assert not kiosk1_page.of_kind("escalation_update"), "kiosk 1 got kiosk 2's acknowledgement"
        card.locator("[data-testid=resolve]").click()
        expect(card).to_have_count(0)
        center.recorder.wait_for(lambda: any(e["status"] == "resolved" for e in kiosk2_page.of_kind(
            "escalation_update")), 10, "the resolved update on kiosk 2's page")
        resolved = next(e for e in kiosk2_page.of_kind("escalation_update") if e["status"] == "resolved")
        expect(kiosk2_screen.get_by_test_id("staff-ack")).to_have_text(resolved["message_vi"], timeout=10000)
    finally:
        kiosk2_screen.context.close()
        kiosk2_page.close()
        kiosk1_page.close()
        page.context.close()


@pytest.mark.timeout(1200)  # one real training run: ~1 min on an idle 2-core machine, minutes when loaded
def test_an_admin_fixes_a_kb_record_retrains_and_the_kiosks_answer_with_the_new_text(center, browser):
    url = center.dashboard.dashboard_url
    page = browser_login(browser, url, "admin", ADMIN_PASSWORD)
    page.goto(url + "/kb?record=dang_ky_khai_sinh")
    editor = page.locator("#kb-editor")
    expect(editor).to_be_enabled()
    text = editor.input_value()
    old_time = next(line.split(": ", 1)[1] for line in text.splitlines() if "processing_time:" in line)
    edited = text.replace(old_time, f'"{NEW_TIME}"', 1).replace("fee_vnd: 0", "fee_vnd: -5", 1)
    editor.fill(edited)
    page.click("#kb-validate")
    field = "submission_methods[0].fee_vnd"
    inline = page.locator(f"[data-testid=inline-error][data-field='{field}']")
    expect(inline).to_be_visible()
    expect(inline).to_contain_text("negative value -5")
    line = int(inline.get_attribute("data-line"))
    assert edited.splitlines()[line - 1].strip() == "fee_vnd: -5"
    expect(page.locator(f"[data-testid=kb-error][data-field='{field}']")).to_contain_text(f"Dòng {line}")
    page.screenshot(path=str(ARTIFACTS / "04-kb-error-at-field.png"), full_page=True)
    page.click("#kb-save")  # refused: still invalid
    expect(page.locator("[data-testid=kb-result]")).to_contain_text("Chưa lưu")
    editor.fill(edited.replace("fee_vnd: -5", "fee_vnd: 0", 1))
    page.click("#kb-save")
    expect(page.locator("[data-testid=kb-result]")).to_contain_text("Đã lưu")
    saved = (center.tmp / "kb" / "procedures" / "dang_ky_khai_sinh.yaml").read_text(encoding="utf-8")
    assert NEW_TIME in saved
    page.click("#kb-train")
    status = page.locator("[data-testid=train-status]")
    expect(status).to_have_attribute("data-state", "running", timeout=10000)
    page.screenshot(path=str(ARTIFACTS / "05-kb-training.png"), full_page=True)
    expect(status).to_have_attribute("data-state", "succeeded", timeout=900000)
    expect(page.locator("#train-details")).to_contain_text("kiosk1: ✔")
    expect(page.locator("#train-details")).to_contain_text("kiosk2: ✔")
    page.screenshot(path=str(ARTIFACTS / "06-kb-retrained.png"), full_page=True)
    page.context.close()
    ask(center.kiosks["kiosk2"], "làm giấy khai sinh mất bao lâu")
    reply = center.recorder.wait_for(lambda: next((r for r in center.recorder.get("dialogue/reply")
                                                   if "khai sinh" in r["user_text"]), None), 30, "the reply")
    assert reply["procedure_id"] == "dang_ky_khai_sinh"
    assert "hai giờ làm việc" in reply["reply_voice"], reply["reply_voice"]


def test_statistics_and_admin_pages(center, browser):
    url = center.dashboard.dashboard_url
    page = browser_login(browser, url, "admin", ADMIN_PASSWORD)
    ask(center.kiosks["kiosk1"], "giá vàng hôm nay bao nhiêu")  # unanswered: a candidate KB example
    time.sleep(1.0)
    page.goto(url + "/stats")
    expect(page.locator("[data-testid=fig-questions] .value")).not_to_have_text("0")
    expect(page.locator("[data-testid=unanswered-row]").first).to_contain_text("giá vàng")
    page.wait_for_function("[...document.images].every((i) => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(ARTIFACTS / "07-statistics.png"), full_page=True)
    page.goto(url + "/admin")
    audit = page.locator("[data-testid=audit]")
    expect(audit).to_contain_text("escalation_acknowledged")
    expect(audit).to_contain_text("kb_save")
    expect(audit).to_contain_text("kb_train")
    page.screenshot(path=str(ARTIFACTS / "08-admin.png"), full_page=True)
    page.context.close()


def test_a_full_dashboard_storage_is_shown_while_the_kiosks_keep_answering(center, browser):
    tmp = center.tmp / "center2"
    full = start_dashboard(tmp, "center2", center.tmp / "kb", center.tmp / "model",
                           storage={"max_size_mb": 0.15}, discovery_period_s=0.5)
    center.extra["dashboard_full_storage"] = full
    try:
        wait_active(center.recorder, [("center2", "dashboard/dashboard")])
        create_admin(tmp / "dashboard.db")
        client, _ = api_login(full.dashboard_url, "admin", ADMIN_PASSWORD)
        center.recorder.wait_for(lambda: "kiosk2" in client.get("/api/status").json()["kiosks"], 30,
                                 "the second dashboard sees kiosk 2")
        from kiosk_protocol import Reply, encode

        for i in range(400):  # like kiosk 2's replies, with long answers, until the capped file is full
            center.recorder.publish("dialogue/reply", encode(Reply(intent="out_of_scope", user_text=f"câu hỏi {i}",
                                                                   reply_voice="Xin lỗi ạ. " * 150)))
            time.sleep(0.03)
            if i % 20 == 19 and not client.get("/api/status").json()["storage"]["ok"]:
                break
        center.recorder.wait_for(lambda: not client.get("/api/status").json()["storage"]["ok"], 30,
                                 "the dashboard to report full storage")
        assert httpx.get(full.dashboard_url + "/healthz").json()["status"] == "storage_problem"
        center.recorder.wait_for(lambda: (s := center.recorder.diagnostics.get("/center2/dashboard/dashboard"))
                                 and s["level"] == 2 and "full" in s["message"], 15, "ERROR in diagnostics")
        before = len(center.recorder.get("dialogue/reply"))
        ask(center.kiosks["kiosk2"], "đăng ký kết hôn cần giấy tờ gì")
        reply = center.recorder.wait_for(lambda: next((r for r in center.recorder.get("dialogue/reply")[before:]
                                                       if "kết hôn" in r["user_text"]), None), 30, "kiosk 2 answers")
        assert reply["procedure_id"] == "dang_ky_ket_hon"
        page = browser_login(browser, full.dashboard_url, "admin", ADMIN_PASSWORD)
        expect(page.locator("[data-testid=storage-banner]")).to_contain_text("đầy")
        page.screenshot(path=str(ARTIFACTS / "09-storage-full.png"), full_page=True)
        page.context.close()
    finally:
        assert full.stop() == 0, full.log_tail()


def test_the_kiosks_answer_with_the_dashboard_down_and_a_restart_loses_nothing(center):
    url = center.dashboard.dashboard_url
    client, _ = api_login(url, "admin", ADMIN_PASSWORD)
    before = client.get("/api/stats/summary").json()
    escalations = client.get("/api/escalations").json()
    assert before["questions"] >= 3 and escalations
    assert center.dashboard.stop() == 0
    center.extra["dashboard_first_run"] = center.dashboard
    center.recorder.diagnostics.pop("/center/dashboard/dashboard", None)  # wait for the new one's status
    start = len(center.recorder.get("dialogue/reply"))
    ask(center.kiosks["kiosk2"], "làm căn cước ở quầy nào")
    reply = center.recorder.wait_for(lambda: next((r for r in center.recorder.get("dialogue/reply")[start:]
                                                   if "căn cước" in r["user_text"]), None), 30,
                                     "kiosk 2 answers with the dashboard down")
    assert reply["procedure_id"] == "cap_the_can_cuoc"
    center.dashboard = start_dashboard(center.tmp / "center", "center", center.tmp / "kb", center.tmp / "model")
    wait_active(center.recorder, [("center", "dashboard/dashboard")])
    client, _ = api_login(center.dashboard.dashboard_url, "admin", ADMIN_PASSWORD)
    after = client.get("/api/stats/summary").json()
    assert after["questions"] >= before["questions"]
    assert after["escalations"] == before["escalations"]
    assert {e["escalation_id"]: e["status"] for e in client.get("/api/escalations").json()} == \
        {e["escalation_id"]: e["status"] for e in escalations}
