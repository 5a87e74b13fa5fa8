"""The touchscreen's catalog, search, cards, QR codes, print, ratings and limits over real HTTP (uvicorn).

The catalog is the real knowledge base's, built by ``dialogue.catalog`` exactly as the dialogue node
publishes it; the server is the real app in a thread. The printer is a simulated device: ``lp`` and
``lpstat`` scripts on PATH that behave like a CUPS with one printer and keep what was printed.
"""

from __future__ import annotations

import json
import os
import queue
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from dialogue.catalog import CATEGORY_ORDER, build_catalog
from dialogue.center import load_center
from dialogue.kb import load_knowledge_base
from kiosk_protocol import Catalog, Rating, Reply, SessionEvent, UserInput, decode, encode
from kiosk_protocol.text import fold_key
from kiosk_ui import BackgroundServer, EventHub, UiSettings, create_app
from kiosk_ui.app import KioskBridge
from kiosk_ui.catalog_store import CatalogStore
from kiosk_ui.printing import checklist_text, find_printer
from kiosk_ui.search import CatalogIndex

CENTER = "Trung tâm Phục vụ hành chính công phường Mẫu"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return build_catalog(load_knowledge_base(), load_center())


class Server:
    def __init__(self, catalog: Catalog | None, printer=None) -> None:
        self.hub = EventHub()
        self.inputs: queue.Queue[UserInput] = queue.Queue()
        self.ratings: queue.Queue[Rating] = queue.Queue()
        self.ptt: queue.Queue[bool] = queue.Queue()
        bridge = KioskBridge(catalog=CatalogStore(catalog), on_rating=self.ratings.put, on_push_to_talk=self.ptt.put,
                             printer=printer)
        app = create_app(self.hub, on_input=self.inputs.put, settings=UiSettings(center_name=CENTER), bridge=bridge)
        self.server = BackgroundServer(app).start()
        self.url = self.server.url


@pytest.fixture(scope="module")
def server(catalog: Catalog) -> Iterator[Server]:
    s = Server(catalog)
    yield s
    s.server.stop()


def test_the_catalog_covers_the_knowledge_base_with_folded_keys(catalog: Catalog) -> None:
    kb = load_knowledge_base()
    assert {p.id for p in catalog.procedures} == set(kb.procedures)
    assert [c.id for c in catalog.categories] == [c for c in CATEGORY_ORDER if any(
        p.category == c for p in kb.procedures.values())]
    static = Path(__file__).resolve().parents[1] / "kiosk_ui" / "static" / "icons"
    for cat in catalog.categories:
        assert (static / cat.icon).is_file(), cat.icon  # every icon ships as a file
    for proc in catalog.procedures:
        assert proc.search_keys and all(k == fold_key(k) for k in proc.search_keys + proc.search_examples)
        assert proc.card["id"] == proc.id and proc.card["papers"] and proc.card["counter"]["number"] >= 1
    assert catalog.center["counters"][0]["number"] == 1 and catalog.center["opening_hours"]
    assert decode(encode(catalog), Catalog) == catalog
    assert build_catalog(kb, load_center()).version == catalog.version  # content hash: stable


@pytest.mark.parametrize(("query", "expected"), [
    ("dang ky ket hon", "dang_ky_ket_hon"), ("dang ky tam tru", "dang_ky_tam_tru"),
    ("so do", "cap_gcn_quyen_su_dung_dat_lan_dau"), ("sổ hồng", "cap_gcn_quyen_su_dung_dat_lan_dau"),
    ("hộ khẩu", "dang_ky_thuong_tru"), ("chứng minh nhân dân", "cap_the_can_cuoc"),
    ("dnag ky ket hon", "dang_ky_ket_hon"), ("giay doc than", "xac_nhan_tinh_trang_hon_nhan"),
    ("ly lich tu phap", "cap_phieu_ly_lich_tu_phap"), ("ĐĂNG KÝ KHAI TỬ!", "dang_ky_khai_tu"),
])
def test_search_ranks_the_right_procedure_first(catalog: Catalog, query: str, expected: str) -> None:
    hits = CatalogIndex(catalog).search(query)
    assert hits and hits[0].procedure_id == expected, (query, [h.procedure_id for h in hits[:3]])


def test_search_of_nothing_or_noise_finds_nothing(catalog: Catalog) -> None:
    index = CatalogIndex(catalog)
    assert index.search("") == [] and index.search("   !!! ") == []
    assert index.search("qqqq zzzz xxxx") == []
    assert index.suggest("giá vàng hôm nay bao nhiêu") == []
    assert index.suggest("cho em hoi lam so do o dau")[0].procedure_id == "cap_gcn_quyen_su_dung_dat_lan_dau"


def test_catalog_card_and_qr_endpoints(server: Server, catalog: Catalog) -> None:
    body = httpx.get(server.url + "/api/catalog").json()
    assert body["version"] == catalog.version
    assert len(body["procedures"]) == len(catalog.procedures)
    assert "card" not in body["procedures"][0] and "search_keys" not in body["procedures"][0]
    card = httpx.get(server.url + "/api/procedures/dang_ky_khai_sinh").json()
    assert card["label"] == "Làm giấy khai sinh" and card["card"]["code"] == "1.001193"
    qr = httpx.get(server.url + "/api/procedures/dang_ky_khai_sinh/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.startswith("<svg") and "<path" in qr.text
    assert httpx.get(server.url + "/static/icons/civil_status.svg").headers["content-type"].startswith("image/svg")


@pytest.mark.parametrize(("method", "path", "body", "status", "vietnamese", "english"), [
    ("GET", "/api/procedures/khong_co", None, 404, "Không tìm thấy thủ tục", "unknown procedure id"),
    ("GET", "/api/procedures/khong_co/qr.svg", None, 404, "Không tìm thấy thủ tục", "unknown procedure id"),
    ("GET", "/print/khong_co", None, 404, "Không tìm thấy thủ tục", "unknown procedure id"),
    ("GET", "/api/search?q=", None, 422, "Xin bà con gõ vài chữ", "q is empty"),
    ("GET", "/api/search?q=%20%20", None, 422, "Xin bà con gõ vài chữ", "q is empty"),
    ("GET", "/api/search?q=" + "a" * 10_000, None, 422, "Nội dung tìm quá dài", "the limit is 200"),
    ("GET", "/api/search?q=x&limit=0", None, 422, "", "greater than or equal to 1"),
    ("GET", "/api/suggest?q=", None, 422, "Xin bà con gõ vài chữ", "q is empty"),
    ("POST", "/api/input", {"action": "select_procedure", "procedure_id": "khong_co"}, 404,
     "Không tìm thấy thủ tục", "unknown procedure id"),
    ("POST", "/api/input", {"action": "select_procedure"}, 422, "Chưa chọn thủ tục", "procedure_id is required"),
    ("POST", "/api/input", {"action": "lookup_address", "text": "  "}, 422, "Xin bà con nhập địa chỉ cũ",
     "address is empty"),
    ("POST", "/api/input", {"action": "lookup_address", "text": "a" * 10_000}, 422, "Địa chỉ quá dài",
     "the limit is 200"),
    ("POST", "/api/input", {"action": "text", "text": ""}, 422, "Câu hỏi đang trống", "text is empty"),
    ("POST", "/api/input", {"action": "fly"}, 422, "", "Input should be"),
    ("POST", "/api/input", b"{not json", 422, "không đúng định dạng JSON", "not valid JSON"),
    ("POST", "/api/rating", {"score": 0}, 422, "Điểm đánh giá từ 1 đến 5", "score must be 1 to 5"),
    ("POST", "/api/rating", {"score": 6}, 422, "Điểm đánh giá từ 1 đến 5", "score must be 1 to 5"),
    ("POST", "/api/rating", {}, 422, "Thiếu thông tin bắt buộc 'score'", "field 'score' is required"),
    ("POST", "/api/rating", b"[1, 2", 422, "không đúng định dạng JSON", "not valid JSON"),
    ("POST", "/api/push_to_talk", {"pressed": "maybe"}, 422, "", "valid boolean"),
    ("POST", "/api/print", {"procedure_id": "dang_ky_khai_sinh"}, 409, "Robot không có máy in", "no CUPS printer"),
    ("POST", "/api/print", b"{", 422, "không đúng định dạng JSON", "not valid JSON"),
    ("GET", "/api/khong_co", None, 404, "Không có trang này", "no such page"),
])
def test_bad_input_gets_a_clear_error(server: Server, method: str, path: str, body, status: int,
                                      vietnamese: str, english: str) -> None:
    kwargs = {"content": body, "headers": {"content-type": "application/json"}} if isinstance(body, bytes) else (
        {"json": body} if body is not None else {})
    res = httpx.request(method, server.url + path, **kwargs)
    assert res.status_code == status, res.text
    message = res.json()["message"]
    assert vietnamese in message and english in message, message
    assert server.inputs.empty() and server.ratings.empty()
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"  # and the server is fine


def test_every_touch_action_reaches_on_input(server: Server) -> None:
    for body, action in [({"action": "select_procedure", "procedure_id": "dang_ky_tam_tru"}, "select_procedure"),
                         ({"action": "repeat"}, "repeat"),
                         ({"action": "lookup_address", "text": "phuong ben thanh quan 1 hcm"}, "lookup_address"),
                         ({"text": "dang ky ket hon"}, "text")]:
        res = httpx.post(server.url + "/api/input", json=body)
        assert res.status_code == 202, res.text
        msg = server.inputs.get(timeout=5)
        assert msg.action == action and msg.input_id == res.json()["input_id"]
    assert msg.text == "dang ky ket hon"
    with connect(server.url.replace("http", "ws") + "/ws") as ws:
        ws.send(json.dumps({"kind": "user_input", "action": "select_procedure", "procedure_id": "nope",
                            "client_ref": 1}))
        for _ in range(50):  # after the hello and the replayed history
            frame = json.loads(ws.recv(timeout=5))
            if frame["kind"] == "error":
                break
        assert "Không tìm thấy thủ tục" in frame["message"] and frame["client_ref"] == 1
        ws.send(json.dumps({"kind": "user_input", "action": "repeat", "client_ref": 2}))
        for _ in range(50):
            frame = json.loads(ws.recv(timeout=5))
            if frame["kind"] == "ack":
                break
        assert frame["client_ref"] == 2 and server.inputs.get(timeout=5).action == "repeat"


def test_rating_and_push_to_talk_reach_their_callbacks(server: Server) -> None:
    server.hub.on_session(SessionEvent(session_id="visit1", event="started", reason="first_input"))
    res = httpx.post(server.url + "/api/rating", json={"score": 5, "reply_id": "r1", "procedure_id": "x",
                                                      "trigger": "restart"})
    assert res.status_code == 202
    rating = server.ratings.get(timeout=5)
    assert (rating.score, rating.trigger, rating.session_id, rating.reply_id) == (5, "restart", "visit1", "r1")
    assert decode(encode(rating), Rating) == rating
    assert httpx.post(server.url + "/api/push_to_talk", json={"pressed": True}).status_code == 202
    assert server.ptt.get(timeout=5) is True


def test_without_a_catalog_the_page_is_told_plainly() -> None:
    s = Server(None)
    try:
        for path in ("/api/catalog", "/api/search?q=khai", "/api/procedures/dang_ky_khai_sinh"):
            res = httpx.get(s.url + path)
            assert res.status_code == 503 and "Danh mục thủ tục chưa sẵn sàng" in res.json()["message"]
        assert httpx.get(s.url + "/").status_code == 200
    finally:
        s.server.stop()


def test_request_bodies_are_bounded_at_the_server(server: Server) -> None:
    big = b'{"text": "' + b"a" * (100 * 1024 * 1024) + b'"}'  # 100 MB: refused from its Content-Length
    res = httpx.post(server.url + "/api/ask", content=big, headers={"content-type": "application/json"})
    assert res.status_code == 413 and "Dữ liệu gửi lên quá lớn" in res.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it streams in
        yield b'{"text": "'
        for _ in range(200):
            yield b"a" * 65536
        yield b'"}'

    res = httpx.post(server.url + "/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert res.status_code == 413 and "request body too large" in res.json()["message"]
    assert server.inputs.empty()
    res = httpx.post(server.url + "/api/ask", json={"text": "đ" * 10_000})  # the largest question still fits
    assert res.status_code == 202 and len(server.inputs.get(timeout=5).text) == 10_000


def test_a_websocket_frame_over_the_limit_closes_only_that_socket(server: Server) -> None:
    ws_url = server.url.replace("http", "ws") + "/ws"
    with connect(ws_url, max_size=None) as ws:
        ws.recv(timeout=5)
        ws.send("x" * 200_000)
        with pytest.raises(Exception):  # noqa: B017 - the server closes the connection (1009)
            for _ in range(5):
                ws.recv(timeout=5)
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


def test_a_closed_visit_is_never_replayed(catalog: Catalog) -> None:
    hub = EventHub()  # not yet attached to a server loop: it remembers synchronously
    hub.on_session(SessionEvent(session_id="old", event="started", reason="first_input"))
    hub.publish(Reply(session_id="old", intent="dang_ky_khai_sinh", reply_voice="câu trả lời cho người trước"))
    assert len(hub.recent()) == 1
    hub.on_session(SessionEvent(session_id="old", event="ended", reason="idle_timeout"))
    hub.publish(Reply(session_id="old", intent="x", reply_voice="đến muộn"))  # a late reply of the closed visit
    assert hub.recent() == []
    hub.publish(Reply(session_id="new", intent="x", reply_voice="người mới"))  # may come before its "started"
    assert len(hub.recent()) == 1
    hub.on_session(SessionEvent(session_id="new", event="ended", reason="restart"))
    app = create_app(hub, settings=UiSettings(center_name=CENTER), catalog=catalog)
    server = BackgroundServer(app).start()
    try:
        with connect(server.url.replace("http", "ws") + "/ws") as ws:
            hello = json.loads(ws.recv(timeout=5))
            frames = [json.loads(ws.recv(timeout=5)) for _ in range(hello["replay"])]
    finally:
        server.stop()
    assert [f["kind"] for f in frames] == ["session"] and frames[0]["event"] == "ended"


def _fake_cups(tmp_path: Path, printers: str) -> Path:
    """A simulated printer: lpstat/lp scripts that answer like CUPS and keep the printed text."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lpstat").write_text(f"""#!/bin/sh
case "$1" in -d) echo "system default destination: Quay_In";; -p) printf '{printers}';; esac
""")
    (bin_dir / "lp").write_text(f"""#!/bin/sh
echo "$@" > {tmp_path}/lp_args
cat > {tmp_path}/printed.txt
echo "request id is Quay_In-7 (1 file(s))"
""")
    for f in bin_dir.iterdir():
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_printing_goes_to_the_cups_printer_when_there_is_one(tmp_path: Path, monkeypatch, catalog: Catalog) -> None:
    bin_dir = _fake_cups(tmp_path, "printer Quay_In is idle.  enabled since now\\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    printer = find_printer("auto")
    assert printer is not None and printer.name == "Quay_In"
    assert find_printer("none") is None and find_printer("Khac") is None
    s = Server(catalog, printer=printer)
    try:
        page = httpx.get(s.url + "/").text
        assert '"can_print": true' in page
        res = httpx.post(s.url + "/api/print", json={"procedure_id": "dang_ky_khai_sinh"})
        assert res.status_code == 202 and res.json() == {"job": "Quay_In-7", "printer": "Quay_In"}
    finally:
        s.server.stop()
    printed = (tmp_path / "printed.txt").read_text(encoding="utf-8")
    assert "LÀM GIẤY KHAI SINH" in printed and "[ ] Tờ khai đăng ký khai sinh" in printed
    assert "-d Quay_In" in (tmp_path / "lp_args").read_text()
    proc = next(p for p in catalog.procedures if p.id == "dang_ky_khai_sinh")
    assert printed == checklist_text(proc.card, proc.label, catalog.center_name)


def test_no_cups_means_no_printer(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither lp nor lpstat
    assert find_printer("auto") is None
    bin_dir = _fake_cups(tmp_path, "")  # CUPS without any printer
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_printer("auto") is None

