"""The staff dashboard's HTTP API and WebSocket against real uvicorn on loopback: security and features.

The core is fed with real kiosk_protocol messages the way the dashboard node feeds it; the KB is
a copy in a temporary folder, edited through the real ``python -m dialogue`` command line.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from kiosk_protocol import Escalation, EscalationUpdate, Rating, Reply, encode
from kiosk_ui.app import BackgroundServer
from kiosk_ui.dashboard import Dashboard, DashboardSettings, create_app
from kiosk_ui.dashboard.ratelimit import LoginLimiter
from kiosk_ui.dashboard.routes.pages import STATIC_DIR

REPO = Path(__file__).resolve().parent.parent
PASSWORDS = {"admin": "quản trị viên 2025", "lan": "cán bộ một cửa", "tech": "kỹ thuật viên hệ thống"}
KIOSK_ORIGIN = "http://127.0.0.1:8080"  # the kiosk page's origin


@dataclass
class Server:
    url: str
    dashboard: Dashboard
    app: object
    kb_dir: Path
    history_dir: Path
    updates: list


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("dashboard")
    shutil.copytree(REPO / "dialogue" / "kb", tmp / "kb")
    settings = DashboardSettings(db_path=tmp / "dashboard.db", kb_dir=tmp / "kb", kb_history_dir=tmp / "history",
                                 center_path=REPO / "config" / "center.yaml", model_dir=tmp / "model",
                                 max_body_bytes=64 * 1024, center_name="Trung tâm phường Mẫu")
    dashboard = Dashboard(settings)
    dashboard.accounts.create("admin", "Anh Quản", "admin", PASSWORDS["admin"])
    dashboard.accounts.create("lan", "Chị Lan", "staff", PASSWORDS["lan"])
    dashboard.accounts.create("tech", "Anh Kỹ", "technician", PASSWORDS["tech"])
    updates: list = []
    dashboard.hooks.publish_update = lambda kiosk, update: updates.append((kiosk, update))
    app = create_app(dashboard, maintenance_period_s=0.2)
    srv = BackgroundServer(app).start()
    yield Server(srv.url, dashboard, app, tmp / "kb" / "procedures", tmp / "history", updates)
    srv.stop()
    dashboard.close()


@pytest.fixture(autouse=True)
def fresh_limits(server: Server) -> None:
    s = server.dashboard.settings
    server.app.state.login_limiter = LoginLimiter(s.login_failures_per_account, s.login_failures_per_address)


def client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30, follow_redirects=False)


def login(server: Server, username: str, password: str | None = None) -> tuple[httpx.Client, str]:
    c = client(server)
    token = c.get("/api/auth/csrf").json()["csrf_token"]
    r = c.post("/api/auth/login", json={"username": username, "password": password or PASSWORDS[username]},
               headers={"X-CSRF-Token": token})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf_token"]


def try_login(c: httpx.Client, username: str, password: str) -> httpx.Response:
    token = c.get("/api/auth/csrf").json()["csrf_token"]
    return c.post("/api/auth/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": token})


# ---- authentication, roles, CSRF, origins ---------------------------------------------------------
def test_unauthenticated_requests_get_401_or_the_login_page(server):
    c = client(server)
    for path in ("/api/kiosks", "/api/stats/summary", "/api/kb/records", "/api/accounts", "/api/audit",
                 "/api/stats/export.csv", "/api/stats/chart/by_day.svg", "/api/escalations"):
        assert c.get(path).status_code == 401, path
    assert c.post("/api/escalations/x/acknowledge", json={}).status_code == 401
    for page in ("/", "/stats", "/kb", "/admin"):
        r = c.get(page)
        assert r.status_code == 303 and r.headers["location"] == "/login", page
    assert c.get("/login").status_code == 200


def test_login_sets_an_httponly_samesite_expiring_cookie_and_logout_ends_it(server):
    c = client(server)
    token = c.get("/api/auth/csrf").json()["csrf_token"]
    r = c.post("/api/auth/login", json={"username": "lan", "password": PASSWORDS["lan"]},
               headers={"X-CSRF-Token": token})
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("kdash_session="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Max-Age=28800" in cookie
    assert c.get("/api/kiosks").status_code == 200
    csrf = r.json()["csrf_token"]
    assert c.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert c.get("/api/kiosks").status_code == 401


def test_login_needs_its_csrf_token(server):
    c = client(server)
    r = c.post("/api/auth/login", json={"username": "lan", "password": PASSWORDS["lan"]})
    assert r.status_code == 403


def test_wrong_role_gets_403(server):
    staff, csrf = login(server, "lan")
    headers = {"X-CSRF-Token": csrf}
    assert staff.get("/api/accounts").status_code == 403
    assert staff.post("/api/accounts", json={"username": "x1", "password": "long enough pw"},
                      headers=headers).status_code == 403
    assert staff.put("/api/kb/records/dang_ky_khai_sinh", json={"yaml": "id: x"}, headers=headers).status_code == 403
    assert staff.post("/api/kb/train", headers=headers).status_code == 403
    assert staff.get("/admin").status_code == 403
    tech, tcsrf = login(server, "tech")
    assert tech.get("/api/audit").status_code == 403
    assert tech.post("/api/kb/records/dang_ky_khai_sinh/validate", json={"yaml": "id: x"},
                     headers={"X-CSRF-Token": tcsrf}).status_code == 200


def test_state_changes_need_the_sessions_csrf_token_and_the_same_origin(server):
    admin, csrf = login(server, "admin")
    body = {"username": "csrf1", "display_name": "", "role": "staff", "password": "a long password"}
    assert admin.post("/api/accounts", json=body).status_code == 403  # no token
    assert admin.post("/api/accounts", json=body, headers={"X-CSRF-Token": "guess"}).status_code == 403
    _, other_csrf = login(server, "lan")
    assert admin.post("/api/accounts", json=body, headers={"X-CSRF-Token": other_csrf}).status_code == 403
    foreign = {"X-CSRF-Token": csrf, "Origin": KIOSK_ORIGIN}
    assert admin.post("/api/accounts", json=body, headers=foreign).status_code == 403
    assert admin.post("/api/accounts", json=body,
                      headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-site"}).status_code == 403
    same = {"X-CSRF-Token": csrf, "Origin": server.url}
    assert admin.post("/api/accounts", json=body, headers=same).status_code == 201


def test_the_sixth_failed_login_in_a_minute_gets_429(server):
    c = client(server)
    for _ in range(5):
        assert try_login(c, "lan", "wrong password").status_code == 401
    r = try_login(c, "lan", PASSWORDS["lan"])  # even the right password waits now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    audit = server.dashboard.audit.recent(20)
    assert any(e["action"] == "login_refused_rate_limit" and e["username"] == "lan" for e in audit)


def test_failed_logins_are_limited_per_address_too(server):
    c = client(server)
    for i in range(10):
        assert try_login(c, f"nobody{i}", "wrong password").status_code == 401
    assert try_login(c, "admin", PASSWORDS["admin"]).status_code == 429


def test_request_bodies_are_bounded(server):
    admin, csrf = login(server, "admin")
    big = "x" * (70 * 1024)
    r = admin.post("/api/kb/records/dang_ky_khai_sinh/validate", content=json.dumps({"yaml": big}),
                   headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert r.status_code == 413

    def chunks():
        for _ in range(70):
            yield b"x" * 1024

    r = admin.post("/api/kb/records/dang_ky_khai_sinh/validate", content=chunks(),
                   headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert r.status_code == 413


def test_security_headers_and_no_inline_script(server):
    c = client(server)
    for path in ("/login", "/api/kiosks", "/static/live.js"):
        headers = c.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    for html in STATIC_DIR.glob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {html.name}"
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", text), f"inline event handler in {html.name}"
        assert "http://" not in text and "https://" not in text, f"{html.name} loads something from elsewhere"


def test_the_kiosk_pages_origin_gets_no_cors_access(server):
    c, _ = login(server, "admin")
    preflight = c.options("/api/kiosks", headers={"Origin": KIOSK_ORIGIN, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    r = c.get("/api/kiosks", headers={"Origin": KIOSK_ORIGIN})
    assert "access-control-allow-origin" not in r.headers and "access-control-allow-credentials" not in r.headers


def test_sql_stays_data_with_hostile_input(server):
    c, csrf = login(server, "admin")
    hostile = "kiosk1' OR '1'='1"
    r = c.get("/api/stats/summary", params={"kiosk": hostile})
    assert r.status_code == 200 and r.json()["questions"] == 0
    assert try_login(client(server), "admin' --", "x").status_code == 401
    r = c.post("/api/escalations/' OR 1=1 --/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404


# ---- accounts and audit ---------------------------------------------------------------------------
def test_admin_adds_and_disables_an_account_and_the_audit_log_says_who(server):
    admin, csrf = login(server, "admin")
    h = {"X-CSRF-Token": csrf}
    r = admin.post("/api/accounts", json={"username": "hoa", "display_name": "Chị Hoa", "role": "staff",
                                          "password": "ngắn"}, headers=h)
    assert r.status_code == 422 and "10" in r.json()["detail"]
    r = admin.post("/api/accounts", json={"username": "hoa", "display_name": "Chị Hoa", "role": "staff",
                                          "password": "mật khẩu của Hoa"}, headers=h)
    assert r.status_code == 201
    hoa, _ = login(server, "hoa", "mật khẩu của Hoa")
    assert hoa.get("/api/kiosks").status_code == 200
    assert admin.post("/api/accounts/hoa/disable", headers=h).json()["disabled"] is True
    assert hoa.get("/api/kiosks").status_code == 401  # the open session ends at once
    assert try_login(client(server), "hoa", "mật khẩu của Hoa").status_code == 401
    assert admin.post("/api/accounts/admin/disable", headers=h).status_code == 422
    actions = [(e["username"], e["action"], e["target"]) for e in admin.get("/api/audit").json()]
    assert ("admin", "account_add", "hoa") in actions and ("admin", "account_disable", "hoa") in actions
    assert ("hoa", "login", "") in actions


def test_create_admin_command_never_uses_a_default_password(tmp_path):
    import subprocess
    import sys

    db = tmp_path / "d.db"
    cmd = [sys.executable, "-m", "kiosk_ui.dashboard", "create-admin", "--db", str(db), "--password-stdin"]
    weak = subprocess.run(cmd, input="\n", text=True, capture_output=True)
    assert weak.returncode == 2 and "10" in weak.stderr
    ok = subprocess.run([*cmd, "--display-name", "Anh Quản"], input="một mật khẩu dài\n", text=True,
                        capture_output=True)
    assert ok.returncode == 0, ok.stderr
    again = subprocess.run(cmd, input="một mật khẩu dài\n", text=True, capture_output=True)
    assert again.returncode == 2 and "exists" in again.stderr


# ---- live view and escalations --------------------------------------------------------------------
def ws_url(server: Server) -> str:
    return server.url.replace("http", "ws") + "/ws"


def test_the_staff_websocket_needs_the_session_and_the_same_origin(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server), open_timeout=5)
    assert refused.value.response.status_code == 403
    c, _ = login(server, "lan")
    cookie = f"kdash_session={c.cookies['kdash_session']}"
    with pytest.raises(InvalidStatus):
        connect(ws_url(server), additional_headers={"Cookie": cookie, "Origin": KIOSK_ORIGIN}, open_timeout=5)
    with connect(ws_url(server), additional_headers={"Cookie": cookie, "Origin": server.url}, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["kind"] == "snapshot"


def test_an_escalation_reaches_the_staff_websocket_and_the_acknowledgement_goes_to_the_kiosk(server):
    c, csrf = login(server, "lan")
    cookie = f"kdash_session={c.cookies['kdash_session']}"
    with connect(ws_url(server), additional_headers={"Cookie": cookie}, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["kind"] == "snapshot"
        esc = Escalation(session_id="v7", reason="visitor_request", user_text="cho tôi gặp cán bộ", source="screen")
        server.dashboard.on_message("kiosk2", "dialogue/escalation", encode(esc))
        while True:
            event = json.loads(ws.recv(timeout=5))
            if event["kind"] == "escalation_state":
                break
        assert event["new"] and event["escalation"]["escalation_id"] == esc.escalation_id
        r = c.post(f"/api/escalations/{esc.escalation_id}/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    kiosk, update = server.updates[-1]
    assert kiosk == "kiosk2" and isinstance(update, EscalationUpdate)
    assert update.status == "acknowledged" and update.staff_name == "Chị Lan" and "đang đến" in update.message_vi
    r = c.post(f"/api/escalations/{esc.escalation_id}/resolve", json={"message_vi": "Đã xong ạ"},
               headers={"X-CSRF-Token": csrf})
    assert r.json()["status"] == "resolved" and server.updates[-1][1].message_vi == "Đã xong ạ"
    assert server.dashboard.live.escalation(esc.escalation_id) is None


# ---- statistics -----------------------------------------------------------------------------------
def test_statistics_charts_and_csv(server):
    d = server.dashboard
    for i, (text, intent, pid, source) in enumerate([
        ("làm giấy khai sinh", "dang_ky_khai_sinh", "dang_ky_khai_sinh", "voice"),
        ("đăng ký kết hôn", "dang_ky_ket_hon", "dang_ky_ket_hon", "screen"),
        ("=HYPERLINK(\"http://x\")", "out_of_scope", None, "screen"),
        ("khai sinh cho bé", "dang_ky_khai_sinh", "dang_ky_khai_sinh", "voice"),
    ]):
        d.on_message("kiosk3", "dialogue/reply", encode(Reply(intent=intent, procedure_id=pid, reply_voice="…",
                                                               user_text=text, source=source, reply_id=f"st{i}")))
    d.on_message("kiosk3", "ui/rating", encode(Rating(score=4)))
    c, _ = login(server, "lan")
    s = c.get("/api/stats/summary", params={"kiosk": "kiosk3"}).json()
    assert (s["questions"], s["spoken"], s["typed"], s["unanswered"]) == (4, 2, 2, 1)
    assert s["top_procedures"][0] == {"procedure_id": "dang_ky_khai_sinh", "questions": 2, "name": "Đăng ký khai sinh"}
    assert s["rating_mean"] == 4.0 and sum(s["by_hour_of_day"]) == 4
    center = c.get("/api/stats/summary").json()
    assert center["questions"] >= 4 and any(r["kiosk"] == "kiosk3" for r in center["per_kiosk"])
    for name in ("by_day", "by_hour", "procedures", "sources", "ratings", "escalations"):
        r = c.get(f"/api/stats/chart/{name}.svg", params={"kiosk": "kiosk3"})
        assert r.headers["content-type"].startswith("image/svg+xml")
        ET.fromstring(r.text)  # well-formed: every label escaped
    assert "Đăng ký khai sinh" in c.get("/api/stats/chart/procedures.svg").text
    r = c.get("/api/stats/export.csv", params={"dataset": "unanswered", "kiosk": "kiosk3"})
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == ["time", "kiosk", "source", "question"]
    assert rows[1][3].startswith("'=")  # no formula injection into a spreadsheet
    assert "attachment" in r.headers["content-disposition"]
    daily_text = c.get("/api/stats/export.csv", params={"dataset": "daily"}).text
    daily = list(csv.reader(io.StringIO(daily_text.lstrip("\ufeff"))))
    assert daily[0] == ["day", "kiosk", "metric", "key", "count"] and len(daily) > 1
    assert c.get("/api/stats/export.csv", params={"dataset": "secrets"}).status_code == 422


# ---- knowledge base -------------------------------------------------------------------------------
def test_kb_record_is_checked_at_the_field_and_saved_atomically_with_the_previous_version(server):
    tech, csrf = login(server, "tech")
    h = {"X-CSRF-Token": csrf}
    assert any(r["id"] == "dang_ky_khai_sinh" for r in tech.get("/api/kb/records").json())
    record = tech.get("/api/kb/records/dang_ky_khai_sinh").json()
    original = record["yaml"]
    bad = original.replace("fee_vnd: 0", "fee_vnd: -5", 1)
    check = tech.post("/api/kb/records/dang_ky_khai_sinh/validate", json={"yaml": bad}, headers=h).json()
    assert not check["ok"]
    err = check["errors"][0]
    assert err["field"] == "submission_methods[0].fee_vnd" and "negative" in err["reason"]
    assert bad.splitlines()[err["line"] - 1].strip() == "fee_vnd: -5"
    r = tech.put("/api/kb/records/dang_ky_khai_sinh", json={"yaml": bad, "base_sha256": record["sha256"]}, headers=h)
    assert r.status_code == 200 and not r.json()["ok"]
    path = server.kb_dir / "dang_ky_khai_sinh.yaml"
    assert path.read_text(encoding="utf-8") == original  # nothing written
    good = original.replace("Tờ khai đăng ký khai sinh", "Tờ khai đăng ký khai sinh (mẫu mới)", 1)
    r = tech.put("/api/kb/records/dang_ky_khai_sinh", json={"yaml": good, "base_sha256": record["sha256"]},
                 headers=h).json()
    assert r["ok"] and path.read_text(encoding="utf-8") == good
    assert Path(r["backup"]).read_text(encoding="utf-8") == original
    assert not list(server.kb_dir.glob(".*tmp*"))
    stale = tech.put("/api/kb/records/dang_ky_khai_sinh", json={"yaml": good, "base_sha256": record["sha256"]},
                     headers=h)
    assert stale.status_code == 409  # someone saved since this editor opened the record
    assert tech.get("/api/kb/records/dang_ky_khai_sinh").json()["history"]
    assert tech.get("/api/kb/records/..%2Fsecret").status_code == 404
    actions = [(e["username"], e["action"]) for e in server.dashboard.audit.recent(50)]
    assert ("tech", "kb_save") in actions and ("tech", "kb_save_rejected") in actions


def test_an_unanswered_question_becomes_an_example_in_one_step(server):
    d = server.dashboard
    d.on_message("kiosk4", "dialogue/reply", encode(Reply(intent="out_of_scope", reply_voice="Xin lỗi…",
                                                           user_text="con tôi mới đẻ thì làm giấy gì",
                                                           reply_id="unans1")))
    staff, csrf = login(server, "lan")
    rows = staff.get("/api/stats/unanswered", params={"kiosk": "kiosk4"}).json()
    assert rows[0]["message_id"] == "unans1" and rows[0]["added_to"] is None
    r = staff.post("/api/kb/examples", json={"procedure_id": "dang_ky_khai_sinh", "message_id": "unans1"},
                   headers={"X-CSRF-Token": csrf}).json()
    assert r["ok"] and r["added"] and r["needs_training"]
    text = (server.kb_dir / "dang_ky_khai_sinh.yaml").read_text(encoding="utf-8")
    assert '- "con tôi mới đẻ thì làm giấy gì"' in text
    assert staff.get("/api/stats/unanswered", params={"kiosk": "kiosk4"}).json()[0]["added_to"] == "dang_ky_khai_sinh"
    again = staff.post("/api/kb/examples", json={"procedure_id": "dang_ky_khai_sinh", "message_id": "unans1"},
                       headers={"X-CSRF-Token": csrf}).json()
    assert again["ok"] and not again["added"]


def test_a_failed_training_keeps_the_last_good_model(server, tmp_path):
    """A KB that does not validate makes `python -m dialogue train` fail: nothing is written, no reload."""
    model = server.dashboard.settings.model_dir
    model.mkdir(parents=True, exist_ok=True)
    (model / "meta.json").write_text('{"labels": ["last good"]}', encoding="utf-8")
    broken = server.kb_dir / "zz_broken.yaml"
    broken.write_text("id: zz_broken\n", encoding="utf-8")
    reloads: list = []
    server.dashboard.hooks.reload_dialogue = lambda kiosks: reloads.append(kiosks) or {}
    try:
        tech, csrf = login(server, "tech")
        assert tech.post("/api/kb/train", headers={"X-CSRF-Token": csrf}).status_code == 202
        assert tech.post("/api/kb/train", headers={"X-CSRF-Token": csrf}).status_code == 409  # one at a time
        status = server.app.state.train_job.wait(120)
        assert status["state"] == "failed" and "mô hình cũ" in status["message"]
        assert any("zz_broken" in line for line in status["log"])
        assert (model / "meta.json").read_text(encoding="utf-8") == '{"labels": ["last good"]}'
        assert reloads == []
    finally:
        broken.unlink()
