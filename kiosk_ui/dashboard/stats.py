"""Statistics for staff, from the hourly aggregates (which outlive the conversation text).

Hours and days are local time (``utc_offset_hours``, Vietnam is UTC+7). ``kiosk=None`` means the
whole center.
"""

from __future__ import annotations

import csv
import io
import statistics
import time
from dataclasses import dataclass
from typing import Any

from kiosk_ui.dashboard.db import Database

__all__ = ["CSV_DATASETS", "Period", "Stats"]

CSV_DATASETS = ("daily", "hourly", "procedures", "escalations", "ratings", "unanswered")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Period:
    start_unix_s: float
    end_unix_s: float
    kiosk: str | None = None

    @classmethod
    def last_days(cls, days: int, kiosk: str | None = None, now: float | None = None) -> Period:
        now = now or time.time()
        return cls(now - max(1, min(days, 3660)) * 86400, now + 1, kiosk or None)

    def where(self, time_column: str) -> tuple[str, list[Any]]:
        sql = f"{time_column} >= ? AND {time_column} < ?"
        params: list[Any] = [self.start_unix_s, self.end_unix_s]
        if self.kiosk:
            sql += " AND kiosk = ?"
            params.append(self.kiosk)
        return sql, params


def _csv_safe(value: Any) -> Any:
    """Stop spreadsheet formula injection: text cells starting with = + - @ get a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class Stats:
    def __init__(self, db: Database, utc_offset_hours: int = 7) -> None:
        self.db = db
        self.offset_s = int(utc_offset_hours) * 3600

    def _metric(self, period: Period, metric: str, group: str) -> list[tuple[Any, int, float]]:
        where, params = period.where("hour_unix_s")
        group_sql = {"key": "key", "hour": "hour_unix_s", "day": f"(hour_unix_s + {self.offset_s}) / 86400",
                     "kiosk": "kiosk"}[group]
        rows = self.db.query(
            f"SELECT {group_sql} AS g, SUM(count) AS n, SUM(total) AS t FROM stats_hourly "
            f"WHERE metric = ? AND {where} GROUP BY g ORDER BY g",
            [metric, *params],
        )
        return [(r["g"], int(r["n"]), float(r["t"])) for r in rows]

    def _day_label(self, day_index: int) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(day_index * 86400))

    def _hour_label(self, hour_unix_s: int) -> str:
        return time.strftime("%Y-%m-%d %H:00", time.gmtime(hour_unix_s + self.offset_s))

    def _local_time(self, unix_s: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix_s + self.offset_s))

    def questions_by_hour(self, period: Period) -> list[dict[str, Any]]:
        return [{"hour": self._hour_label(g), "hour_unix_s": g, "questions": n}
                for g, n, _ in self._metric(period, "question", "hour")]

    def questions_by_hour_of_day(self, period: Period) -> list[int]:
        counts = [0] * 24
        for g, n, _ in self._metric(period, "question", "hour"):
            counts[((g + self.offset_s) // 3600) % 24] += n
        return counts

    def questions_by_day(self, period: Period) -> list[dict[str, Any]]:
        return [{"day": self._day_label(g), "questions": n} for g, n, _ in self._metric(period, "question", "day")]

    def ack_times(self, period: Period) -> dict[str, Any]:
        where, params = period.where("created_unix_s")
        rows = self.db.query(
            f"SELECT acknowledged_unix_s - created_unix_s AS s FROM escalations WHERE {where} "
            "AND acknowledged_unix_s IS NOT NULL", params)
        waits = sorted(max(0.0, float(r["s"])) for r in rows)
        open_rows = self.db.query_one(f"SELECT COUNT(*) FROM escalations WHERE {where} AND status = 'open'", params)
        if not waits:
            return {"acknowledged": 0, "open": int(open_rows[0]), "median_s": None, "p90_s": None, "mean_s": None}
        p90 = waits[min(len(waits) - 1, round(0.9 * (len(waits) - 1)))]
        return {"acknowledged": len(waits), "open": int(open_rows[0]), "median_s": round(statistics.median(waits), 1),
                "p90_s": round(p90, 1), "mean_s": round(statistics.fmean(waits), 1)}

    def unanswered(self, period: Period, limit: int = 100) -> list[dict[str, Any]]:
        where, params = period.where("t.unix_s")
        rows = self.db.query(
            f"SELECT t.message_id, t.kiosk, t.unix_s, t.source, t.user_text, t.intent, e.procedure_id AS added_to "
            f"FROM turns t LEFT JOIN kb_examples_added e ON e.message_id = t.message_id "
            f"WHERE t.answered = 0 AND t.user_text != '' AND {where} ORDER BY t.unix_s DESC LIMIT ?",
            [*params, int(limit)],
        )
        return [dict(r) for r in rows]

    def summary(self, period: Period) -> dict[str, Any]:
        sources = {k: n for k, n, _ in self._metric(period, "question", "key")}
        ratings = {k: (n, t) for k, n, t in self._metric(period, "rating", "key")}
        rating_n = sum(n for n, _ in ratings.values())
        per_kiosk: dict[str, dict[str, Any]] = {}
        for metric in ("question", "unanswered", "escalation", "rating", "visit"):
            for kiosk, n, total in self._metric(period, metric, "kiosk"):
                row = per_kiosk.setdefault(kiosk, {"kiosk": kiosk, "question": 0, "unanswered": 0, "escalation": 0,
                                                   "rating": 0, "visit": 0, "rating_mean": None})
                row[metric] = n
                if metric == "rating" and n:
                    row["rating_mean"] = round(total / n, 2)
        questions = sum(sources.values())
        unanswered = sum(n for _, n, _ in self._metric(period, "unanswered", "key"))
        return {
            "period": {"start_unix_s": period.start_unix_s, "end_unix_s": period.end_unix_s, "kiosk": period.kiosk},
            "questions": questions,
            "visits": sum(n for _, n, _ in self._metric(period, "visit", "key")),
            "spoken": sources.get("voice", 0),
            "typed": sources.get("screen", 0),
            "unanswered": unanswered,
            "answered_share": round(1 - unanswered / questions, 3) if questions else None,
            "by_day": self.questions_by_day(period),
            "by_hour_of_day": self.questions_by_hour_of_day(period),
            "top_procedures": [{"procedure_id": k, "questions": n}
                               for k, n, _ in sorted(self._metric(period, "procedure", "key"),
                                                     key=lambda r: (-r[1], r[0]))[:10]],
            "escalations": {k: n for k, n, _ in self._metric(period, "escalation", "key")},
            "time_to_acknowledge": self.ack_times(period),
            "ratings": {str(s): ratings.get(str(s), (0, 0.0))[0] for s in range(1, 6)},
            "rating_mean": round(sum(t for _, t in ratings.values()) / rating_n, 2) if rating_n else None,
            "per_kiosk": sorted(per_kiosk.values(), key=lambda r: r["kiosk"]),
        }

    def csv(self, dataset: str, period: Period) -> str:
        """One CSV table (UTF-8, header row). ``ValueError`` for an unknown dataset."""
        out = io.StringIO()
        writer = csv.writer(out)
        if dataset == "daily":
            writer.writerow(["day", "kiosk", "metric", "key", "count"])
            where, params = period.where("hour_unix_s")
            rows = self.db.query(
                f"SELECT (hour_unix_s + {self.offset_s}) / 86400 AS d, kiosk, metric, key, SUM(count) AS n "
                f"FROM stats_hourly WHERE {where} GROUP BY d, kiosk, metric, key ORDER BY d, kiosk, metric, key",
                params)
            for r in rows:
                writer.writerow([self._day_label(r["d"]), r["kiosk"], r["metric"], _csv_safe(r["key"]), r["n"]])
        elif dataset == "hourly":
            writer.writerow(["hour", "kiosk", "metric", "key", "count", "total"])
            where, params = period.where("hour_unix_s")
            for r in self.db.query(f"SELECT * FROM stats_hourly WHERE {where} ORDER BY hour_unix_s, kiosk, metric, key",
                                   params):
                writer.writerow([self._hour_label(r["hour_unix_s"]), r["kiosk"], r["metric"], _csv_safe(r["key"]),
                                 r["count"], r["total"]])
        elif dataset == "procedures":
            writer.writerow(["procedure_id", "questions"])
            for k, n, _ in sorted(self._metric(period, "procedure", "key"), key=lambda r: -r[1]):
                writer.writerow([_csv_safe(k), n])
        elif dataset == "escalations":
            writer.writerow(["escalation_id", "kiosk", "reason", "source", "created", "status", "acknowledged_after_s",
                             "acknowledged_by", "resolved_after_s", "resolved_by"])
            where, params = period.where("created_unix_s")
            for r in self.db.query(f"SELECT * FROM escalations WHERE {where} ORDER BY created_unix_s", params):
                ack = r["acknowledged_unix_s"]
                res = r["resolved_unix_s"]
                writer.writerow([r["escalation_id"], r["kiosk"], _csv_safe(r["reason"]), r["source"],
                                 self._local_time(r["created_unix_s"]),
                                 r["status"], round(ack - r["created_unix_s"], 1) if ack else "",
                                 _csv_safe(r["acknowledged_by"] or ""),
                                 round(res - r["created_unix_s"], 1) if res else "", _csv_safe(r["resolved_by"] or "")])
        elif dataset == "ratings":
            writer.writerow(["score", "count"])
            ratings = {k: n for k, n, _ in self._metric(period, "rating", "key")}
            for score in range(1, 6):
                writer.writerow([score, ratings.get(str(score), 0)])
        elif dataset == "unanswered":
            writer.writerow(["time", "kiosk", "source", "question"])
            for r in self.unanswered(period, limit=10_000):
                writer.writerow([self._local_time(r["unix_s"]),
                                 r["kiosk"], r["source"], _csv_safe(r["user_text"])])
        else:
            raise ValueError(f"unknown dataset '{dataset}'; one of {', '.join(CSV_DATASETS)}")
        return out.getvalue()
