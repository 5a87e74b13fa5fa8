"""Old-address sweep: every legacy ward of vietnamadminunits, in three writings; prints one JSON object.

For each of the package's pre-2025 wards (its ``admin_units_legacy`` table, 10,040 rows) the
kiosk's :func:`dialogue.addresses.convert_old_address` is asked with

* ``full``: "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội" (with diacritics),
* ``no_diacritics``: the same without diacritics,
* ``short``: "Phúc Xá Ba Đình Hà Nội" (no unit words, no commas),

and compared with the oracle, the package's own ``convert_address`` of the full form. Right: the
oracle's new ward (and province) is the kiosk's answer, or one of its candidates for a split old
ward. Rows the oracle cannot convert are counted apart (the kiosk is not judged on them).

    .venv/bin/python benchmarks/bench_addresses.py [--sample N --seed S] [--misses 20]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dialogue.addresses import convert_old_address  # noqa: E402
from kiosk_protocol.text import fold_diacritics  # noqa: E402

WRITINGS = ("full", "no_diacritics", "short")


def legacy_wards() -> list[dict]:
    import vietnamadminunits as vau

    db = sqlite3.connect(Path(vau.__file__).parent / "data" / "dataset.db")
    cols = ("province", "district", "ward", "provinceShort", "districtShort", "wardShort")
    rows = db.execute(f"select {', '.join(cols)} from admin_units_legacy").fetchall()
    db.close()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def writings(row: dict) -> dict[str, str]:
    full = f"{row['ward']}, {row['district']}, {row['province']}"
    return {"full": full, "no_diacritics": fold_diacritics(full),
            "short": _short(row)}


def _short(row: dict) -> str:
    """ "<ward> <district> <province>" short names, without the table's "(Huyện)" disambiguation."""
    names = (row["wardShort"], row["districtShort"], row["provinceShort"])
    return re.sub(r"\s*\([^)]*\)", "", " ".join(x for x in names if x))


def oracle(full: str) -> tuple[str, str] | None:
    import vietnamadminunits as vau

    try:
        new = vau.convert_address(full)
    except Exception:  # the package raises plain exceptions
        return None
    if not getattr(new, "ward_code", None) or not new.ward:
        return None
    return new.ward, new.province


def check(rows: list[dict], n_misses: int) -> dict:
    counts = {w: {"right": 0, "wrong": 0, "not_found": 0, "split_answered_with_candidates": 0} for w in WRITINGS}
    misses: dict[str, list] = {w: [] for w in WRITINGS}
    no_oracle = 0
    for row in rows:
        texts = writings(row)
        expected = oracle(texts["full"])
        if expected is None:
            no_oracle += 1
            continue
        for w in WRITINGS:
            result = convert_old_address(texts[w])
            c = counts[w]
            if not result.found:
                c["not_found"] += 1
                ok = False
            else:
                ok = expected[0] in result.candidates and result.new_province == expected[1]
                c["right" if ok else "wrong"] += 1
                if ok and len(result.candidates) > 1:
                    c["split_answered_with_candidates"] += 1
            if not ok and len(misses[w]) < n_misses:
                misses[w].append({"query": texts[w], "expected": list(expected), "found": result.found,
                                  "got": result.candidates, "province": result.new_province})
    judged = len(rows) - no_oracle
    for w in WRITINGS:
        counts[w]["accuracy"] = round(counts[w]["right"] / judged, 5) if judged else 0.0
    return {"wards": len(rows), "judged": judged, "oracle_cannot_convert": no_oracle, "by_writing": counts,
            "misses": misses}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=0, help="a seeded sample of N wards (0: all)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--misses", type=int, default=15, help="misses listed per writing")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = legacy_wards()
    if args.sample:
        rows = random.Random(args.seed).sample(rows, args.sample)
    report = {"benchmark": "addresses_legacy_sweep", "load_average": [round(x, 2) for x in os.getloadavg()],
              **check(rows, args.misses), "wall_s": 0.0}
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
