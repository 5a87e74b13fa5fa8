"""Touchscreen figures, printed as one JSON object.

* page load → interactive in Chromium (catalog drawn and WebSocket connected: the page's
  ``kiosk-interactive`` performance mark, from navigation start);
* search latency per keystroke over the whole KB: the search itself (``kiosk_ui.search`` over the
  dialogue's catalog, every prefix of every procedure's names and of citizen queries) and in the
  browser (input event → results painted, through HTTP);
* WebSocket reply → card painted: a procedure reply published on the hub → the card painted.

Runs the real app (uvicorn in a thread) with the real KB's catalog and the Debian Chromium:
``.venv/bin/python benchmarks/bench_touchscreen.py [--loads 10] [--replies 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from dialogue.catalog import build_catalog
from dialogue.center import load_center
from dialogue.kb import load_knowledge_base
from kiosk_protocol import Reply
from kiosk_ui import BackgroundServer, EventHub, UiSettings, create_app
from kiosk_ui.search import CatalogIndex

CHROMIUM = "/usr/bin/chromium"
CITIZEN_QUERIES = ["dang ky tam tru", "so do", "hộ khẩu", "chứng minh nhân dân", "dnag ky ket hon",
                   "lam giay khai sinh cho con", "xin giay phep xay nha", "giay xac nhan doc than"]


def _stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"n": len(values), "p50": round(statistics.median(values), 2),
            "p95": round(values[min(len(values) - 1, int(0.95 * len(values)))], 2), "max": round(values[-1], 2)}


def search_core(index: CatalogIndex) -> dict[str, float]:
    queries = CITIZEN_QUERIES + [p.label for p in index.catalog.procedures] + [p.name for p in index.catalog.procedures]
    times = []
    for query in queries:
        for end in range(1, len(query) + 1):  # every keystroke
            started = time.perf_counter()
            index.search(query[:end])
            times.append((time.perf_counter() - started) * 1000.0)
    return _stats(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--replies", type=int, default=30)
    args = parser.parse_args()

    catalog = build_catalog(load_knowledge_base(), load_center())
    index = CatalogIndex(catalog)
    out: dict[str, object] = {"procedures": len(catalog.procedures), "loadavg_start": os.getloadavg()}
    out["search_core_ms_per_keystroke"] = search_core(index)

    hub = EventHub()
    server = BackgroundServer(create_app(hub, on_input=lambda msg: None, settings=UiSettings(),
                                         catalog=catalog)).start()
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
            loads = []
            for _ in range(args.loads):
                page = browser.new_page(viewport={"width": 1080, "height": 1920})
                page.goto(server.url + "/")
                page.wait_for_function("performance.getEntriesByName('kiosk-interactive').length > 0")
                loads.append(page.evaluate("performance.getEntriesByName('kiosk-interactive')[0].startTime"))
                page.close()
            out["page_load_to_interactive_ms"] = _stats(loads)

            page = browser.new_page(viewport={"width": 1080, "height": 1920})
            page.goto(server.url + "/")
            page.wait_for_selector("body[data-connected=true][data-catalog]", state="attached")
            for query in CITIZEN_QUERIES:
                page.fill("#search-text", "")
                page.click("#search-text")
                page.keyboard.type(query, delay=60)  # about a fast typist's pace
                page.wait_for_function("(q) => window.kioskMetrics.search.some((s) => s.q === q)", arg=query)
            searched = page.evaluate("window.kioskMetrics.search.map((s) => s.ms)")
            out["search_browser_ms_per_keystroke"] = _stats(searched)

            card = next(p for p in catalog.procedures if p.id == "dang_ky_khai_sinh").card
            painted = []
            for i in range(args.replies):
                reply = Reply(intent="dang_ky_khai_sinh", procedure_id="dang_ky_khai_sinh", source="screen",
                              reply_voice=f"Câu trả lời số {i}.",
                              reply_screen={"type": "procedure", "title": "Đăng ký khai sinh", "text": "",
                                            "procedure": card, "choices": [], "candidates": []})
                sent_ms = time.time() * 1000.0
                hub.publish(reply)
                page.wait_for_selector(f"body[data-last-painted='{reply.reply_id}']", state="attached")
                done = page.evaluate("(id) => window.kioskMetrics.painted.find((p) => p.reply_id === id).t",
                                     reply.reply_id)
                painted.append(done - sent_ms)
            out["ws_reply_to_card_painted_ms"] = _stats(painted)
            browser.close()
    finally:
        server.stop()
    out["loadavg_end"] = os.getloadavg()
    out["chromium"] = Path(CHROMIUM).name
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
