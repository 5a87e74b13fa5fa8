"""The dashboard's storage and core, without ROS or HTTP: schema, idempotence, retention, full disk."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from kiosk_protocol import Escalation, Rating, Reply, SessionEvent, Transcript, Utterance, encode
from kiosk_ui.dashboard import Dashboard, DashboardSettings
from kiosk_ui.dashboard.accounts import AccountError, Accounts
from kiosk_ui.dashboard.db import SCHEMA_VERSION, Database, StorageFull
from kiosk_ui.dashboard.live import kiosk_from_diagnostics_name
from kiosk_ui.dashboard.records import Records
from kiosk_ui.dashboard.stats import Period, Stats


def reply(text: str = "làm giấy khai sinh", unix_s: float | None = None, **fields) -> Reply:
    values = {"intent": "dang_ky_khai_sinh", "procedure_id": "dang_ky_khai_sinh", "reply_voice": "Dạ, để đăng ký...",
              "user_text": text, "session_id": "s1", "source": "voice", **fields}
    if unix_s is not None:
        values["published_unix_s"] = unix_s
    return Reply(**values)


def count(db: Database, table: str) -> int:
    return int(db.query_one(f"SELECT COUNT(*) FROM {table}")[0])


def test_fresh_database_is_wal_at_the_current_schema_version_and_holds_no_audio(tmp_path):
    db = Database(tmp_path / "d.db")
    assert db.version == SCHEMA_VERSION
    assert db.query_one("PRAGMA journal_mode")[0] == "wal"
    for (table,) in db.query("SELECT name FROM sqlite_master WHERE type = 'table'"):
        types = {r["type"].upper() for r in db.query(f"PRAGMA table_info({table})")}
        assert "BLOB" not in types, f"{table} has a BLOB column: the dashboard never stores audio"


def test_migration_from_version_1_keeps_the_data(tmp_path):
    path = tmp_path / "d.db"
    old = Database(path, target_version=1)
    Records(old).add_turn("kiosk1", reply())
    assert old.version == 1
    old.close()
    db = Database(path)
    assert db.version == SCHEMA_VERSION == 2
    assert count(db, "turns") == 1
    assert count(db, "kb_examples_added") == 0  # the v2 table exists


def test_a_newer_schema_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "d.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this dashboard"):
        Database(path)


def test_each_message_is_stored_and_counted_once(tmp_path):
    db = Database(tmp_path / "d.db")
    records = Records(db)
    r = reply()
    assert records.add_turn("kiosk1", r) is True
    assert records.add_turn("kiosk1", r) is False  # delivered twice (a reconnect, a replay)
    esc = Escalation(session_id="s1", reason="visitor_request")
    assert records.add_escalation("kiosk1", esc) and not records.add_escalation("kiosk1", esc)
    rating = Rating(score=5)
    assert records.add_rating("kiosk1", rating) and not records.add_rating("kiosk1", rating)
    assert (count(db, "turns"), count(db, "escalations"), count(db, "ratings")) == (1, 1, 1)
    summary = Stats(db).summary(Period.last_days(1))
    assert summary["questions"] == 1 and summary["escalations"] == {"visitor_request": 1}
    assert summary["ratings"]["5"] == 1


def test_a_restart_loses_nothing_stored(tmp_path):
    settings = DashboardSettings(db_path=tmp_path / "d.db")
    first = Dashboard(settings)
    first.on_message("kiosk1", "dialogue/reply", encode(reply()))
    first.on_message("kiosk1", "dialogue/escalation", encode(Escalation(escalation_id="e1", session_id="s1",
                                                                        reason="visitor_request")))
    first.close()
    second = Dashboard(settings)
    assert count(second.db, "turns") == 1
    assert second.live.escalation("e1")["status"] == "open"  # an open escalation is shown again


def test_retention_purges_text_and_keeps_statistics(tmp_path):
    db = Database(tmp_path / "d.db")
    records = Records(db)
    now = time.time()
    records.add_turn("kiosk1", reply("câu hỏi cũ", unix_s=now - 40 * 86400))
    records.add_turn("kiosk1", reply("câu hỏi mới", unix_s=now - 1 * 86400))
    records.add_turn("kiosk1", reply("câu hỏi rất cũ", unix_s=now - 800 * 86400))
    records.add_escalation("kiosk1", Escalation(session_id="s", reason="visitor_request", user_text="gặp cán bộ",
                                                unix_s=now - 40 * 86400))
    report = records.purge(30, 730, 365, 3600, now)
    assert report.turns == 2 and report.escalation_texts == 1
    assert [r["user_text"] for r in db.query("SELECT user_text FROM turns")] == ["câu hỏi mới"]
    assert db.query_one("SELECT user_text FROM escalations")[0] == ""
    stats = Stats(db).summary(Period.last_days(365, now=now))
    assert stats["questions"] == 2  # the 40-day-old question is still counted; the 800-day-old one is gone
    assert stats["escalations"] == {"visitor_request": 1}


def test_a_full_disk_is_reported_and_nothing_is_lost_when_space_is_back(tmp_path):
    """SQLITE_FULL simulated honestly with PRAGMA max_page_count (the size cap setting)."""
    db = Database(tmp_path / "d.db")
    records = Records(db)
    used_mb = db.size_bytes() / 2**20 + 0.01
    db.set_size_cap(used_mb)
    stored = 0
    with pytest.raises(StorageFull):
        for i in range(5000):
            records.add_turn("kiosk1", reply(f"câu hỏi số {i} " + "x" * 400))
            stored += 1
    assert "đầy" in db.problem and "full" in db.problem
    for i in range(stored + 1, stored + 20):
        with pytest.raises(StorageFull):
            records.add_turn("kiosk1", reply(f"câu hỏi số {i} " + "x" * 400))
    assert db.backlog == 20
    db.set_size_cap(0)
    assert db.retry_backlog() == 0
    assert db.problem == ""
    assert count(db, "turns") == stored + 20


def test_the_core_keeps_the_live_view_while_storage_is_full(tmp_path):
    dashboard = Dashboard(DashboardSettings(db_path=tmp_path / "d.db"))
    dashboard.db.set_size_cap(dashboard.db.size_bytes() / 2**20 + 0.005)
    for i in range(200):
        dashboard.on_message("kiosk1", "dialogue/reply", encode(reply(f"câu {i} " + "y" * 300, session_id="")))
    dashboard.on_message("kiosk1", "dialogue/escalation", encode(Escalation(escalation_id="e9", session_id="",
                                                                            reason="visitor_request")))
    status = dashboard.storage_status()
    assert not status["ok"] and status["waiting_writes"] > 0
    assert dashboard.live.escalation("e9") is not None
    row = dashboard.update_escalation("e9", "acknowledged", "Chị Lan", "lan")  # still reaches the kiosk
    assert row["status"] == "acknowledged"


def test_ignored_and_malformed_messages(tmp_path):
    dashboard = Dashboard(DashboardSettings(db_path=tmp_path / "d.db"))
    import numpy as np

    audio = Utterance.from_samples(np.zeros(1600, dtype=np.float32), start_unix_s=0.0, end_of_speech_unix_s=0.1)
    dashboard.on_message("kiosk1", "audio/utterance", encode(audio))
    dashboard.on_message("kiosk1", "dialogue/reply", "{not json")
    assert dashboard.malformed == 1
    assert count(dashboard.db, "turns") == 0


def test_a_visit_shows_its_conversation_and_forgets_it_when_it_ends(tmp_path):
    dashboard = Dashboard(DashboardSettings(db_path=tmp_path / "d.db"))
    dashboard.on_message("k2", "dialogue/session", encode(SessionEvent(session_id="v1", event="started",
                                                                       reason="first_input")))
    dashboard.on_message("k2", "dialogue/reply", encode(reply(session_id="v1")))
    heard = Transcript(utterance_id="u1", text="ừm", confidence=0.1, accepted=False)
    dashboard.on_message("k2", "speech/transcript", encode(heard))
    lines = dashboard.live.snapshot()["kiosks"][0]["conversation"]["lines"]
    assert [line["role"] for line in lines] == ["citizen", "kiosk", "citizen"]
    dashboard.on_message("k2", "dialogue/session", encode(SessionEvent(session_id="v1", event="ended",
                                                                       reason="goodbye")))
    assert dashboard.live.snapshot()["kiosks"][0]["conversation"]["lines"] == []
    assert count(dashboard.db, "turns") == 1  # the stored turn follows the retention settings


def test_health_from_diagnostics_goes_stale(tmp_path):
    dashboard = Dashboard(DashboardSettings(db_path=tmp_path / "d.db", stale_after_s=1.0))
    status = {"name": "/kiosk2/speech/asr", "level": 2, "message": "model missing",
              "values": {"lifecycle_state": "unconfigured", "host_cpu_percent": "12.5", "hostname": "k2"}}
    assert dashboard.on_diagnostics([status, {"name": "/center/dashboard/dashboard", "level": 0}]) == {"kiosk2"}
    health = dashboard.live.snapshot()["kiosks"][0]
    assert health["level_name"] == "ERROR" and health["host"]["host_cpu_percent"] == "12.5"
    assert health["nodes"][0]["lifecycle_state"] == "unconfigured"
    dashboard.on_diagnostics([{**status, "level": 0}], now=time.time() - 5)
    assert dashboard.live.snapshot()["kiosks"][0]["level_name"] == "STALE"
    assert kiosk_from_diagnostics_name("/a/b/speech/asr") == ("a/b", "speech", "asr")
    assert kiosk_from_diagnostics_name("/center/dashboard/dashboard") is None
    assert kiosk_from_diagnostics_name("asr") is None


def test_accounts_hash_with_argon2_and_sessions_expire(tmp_path):
    db = Database(tmp_path / "d.db")
    accounts = Accounts(db, session_ttl_s=0.5, session_idle_s=60)
    with pytest.raises(AccountError, match="10"):
        accounts.create("lan", "Chị Lan", "staff", "short")
    account = accounts.create("Lan", "Chị Lan", "staff", "mật khẩu đủ dài")
    stored = db.query_one("SELECT password_hash FROM accounts")[0]
    assert stored.startswith("$argon2id$") and "mật" not in stored
    assert accounts.verify("lan", "sai mật khẩu") is None
    assert accounts.verify("LAN", "mật khẩu đủ dài").username == "lan"
    token, _ = accounts.start_session(account, "127.0.0.1")
    assert db.query_one("SELECT token_sha256 FROM web_sessions")[0] != token  # only the hash is stored
    assert accounts.find_session(token) is not None
    time.sleep(0.6)
    assert accounts.find_session(token) is None
    with pytest.raises(AccountError, match="exists"):
        accounts.create("lan", "", "staff", "another long one")


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="port"):
        DashboardSettings(port=0)
    with pytest.raises(ValueError, match="retention"):
        DashboardSettings(conversation_retention_days=0)
    assert DashboardSettings().host == "127.0.0.1"
    assert DashboardSettings().db_path == Path("var/dashboard/dashboard.db")


def test_a_visits_first_line_may_arrive_before_its_start_event():
    from kiosk_ui.dashboard.live import LiveState

    live = LiveState()
    live.session("k", "old", True, 1.0)
    live.add_line("k", {"id": "a", "session_id": "new", "text": "cho tôi gặp cán bộ"})
    live.session("k", "new", True, 2.0)  # the start event came second
    assert [line["id"] for line in live.snapshot()["kiosks"][0]["conversation"]["lines"]] == ["a"]
    live.session("k", "new", False, 3.0)
    live.add_line("k", {"id": "late", "session_id": "new", "text": "x"})  # a late line of the ended visit
    assert live.snapshot()["kiosks"][0]["conversation"]["lines"] == []
