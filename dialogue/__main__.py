"""Command line: ``python -m dialogue {ask,address,train,validate,save-record,add-example,gen-asr-data} ...``.

Examples::

    python -m dialogue ask "làm giấy khai sinh cho con cần gì" --json
    python -m dialogue ask "thế lệ phí bao nhiêu" --session quay1 --json   # follows the last turn
    python -m dialogue address "phường 12 quận 6 tp hcm" --json
    python -m dialogue train --seed 13
    python -m dialogue validate
    python -m dialogue validate --json --candidate /tmp/dang_ky_khai_sinh.yaml   # errors with field and line
    python -m dialogue save-record /tmp/dang_ky_khai_sinh.yaml --backup-dir var/kb_history --json
    python -m dialogue add-example dang_ky_khai_sinh "con tôi mới đẻ thì làm giấy gì" --backup-dir var/kb_history
    python -m dialogue train --progress          # JSON lines: {"stage": ..., "progress": 0..1}

With ``--json``, ``validate``, ``save-record`` and ``add-example`` print one object
``{"ok", "errors": [{"file", "field", "reason", "line", "in_candidate"}], ...}``; the exit code is
0 when ok, 1 on validation errors, 3 when the record changed since ``--expect-sha256``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

log = logging.getLogger("dialogue.cli")

_SESSION_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _state_dir() -> Path:
    base = os.environ.get("KIOSK_DIALOGUE_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "kiosk-dialogue"
    )
    return Path(base) / "sessions"


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _cmd_ask(args: argparse.Namespace) -> int:
    from dialogue.manager import DialogueEngine, DialogueUnavailable

    try:
        engine = DialogueEngine.load(args.model_dir, args.kb_dir, args.center)
    except DialogueUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    session = args.session or "cli"
    state_file: Path | None = None
    if args.session:
        if not _SESSION_RE.match(args.session):
            print("error: --session must be 1-64 letters, digits, '.', '_' or '-'", file=sys.stderr)
            return 2
        state_file = _state_dir() / f"{args.session}.json"
        if state_file.is_file():
            try:
                engine.import_session(json.loads(state_file.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring unreadable session state %s: %s", state_file, exc)
    reply = engine.respond(args.question, session_id=session, source="text", now_s=time.time())
    if state_file is not None:
        try:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(json.dumps(engine.export_session(session), ensure_ascii=False), encoding="utf-8")
        except OSError as exc:
            log.warning("cannot save session state %s: %s", state_file, exc)
    if args.json:
        _print_json(reply.as_dict())
    else:
        print(f"[{reply.intent} {reply.confidence:.2f}] {reply.reply_voice}")
        if reply.escalate:
            print(f"(gọi cán bộ: {reply.escalation_reason})")
        for choice in reply.reply_screen.get("choices", []):
            print(f"  - {choice['label']}")
    return 0


def _cmd_address(args: argparse.Namespace) -> int:
    from dialogue.addresses import convert_old_address

    result = convert_old_address(args.address)
    if args.json:
        _print_json(result.as_dict())
    else:
        print(result.message)
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from dialogue.kb import KbInvalidError
    from dialogue.train import DEFAULT_OUT_DIR, train

    kb_dir = args.kb_dir or Path(__file__).resolve().parent / "kb"
    if args.progress:  # for the staff dashboard: JSON lines
        def progress(stage: str, fraction: float) -> None:
            _print_json({"stage": stage, "progress": round(fraction, 3)})
            sys.stdout.flush()
    else:  # a progress bar on a terminal (silent when the output is not one: CI, logs)
        from tqdm import tqdm

        bar = tqdm(total=100, desc="training the dialogue model", unit="%", disable=None, leave=False)

        def progress(stage: str, fraction: float) -> None:
            bar.set_postfix_str(stage)
            bar.update(round(fraction * 100) - bar.n)
    try:
        report = train(kb_dir, args.out or DEFAULT_OUT_DIR, seed=args.seed, quiet=args.quiet, progress=progress)
    except KbInvalidError as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
        print("error: training stopped; fix the knowledge base errors above.", file=sys.stderr)
        if args.progress:
            _print_json({"stage": "failed", "progress": 1.0, "errors": [str(e) for e in exc.errors[:20]]})
        return 1
    if args.progress:
        _print_json({"stage": "done", "progress": 1.0, "report": report})
    elif not args.quiet:
        _print_json(report)
    return 0


def _edit_exit(result) -> int:
    if result.conflict:
        return 3
    return 0 if result.ok else 1


def _print_edit(result, as_json: bool) -> int:
    if as_json:
        _print_json(result.as_dict())
    else:
        for err in result.errors:
            where = f" (line {err.line})" if err.line else ""
            print(f"{err.file}: {err.field}{where}: {err.reason}")
        if result.ok:
            print(f"OK{': saved ' + result.saved if result.saved else ''}")
    return _edit_exit(result)


def _candidate_id(path: Path) -> str:
    return path.name.removesuffix(".yaml").removesuffix(".yml")


def _cmd_validate(args: argparse.Namespace) -> int:
    from dialogue.kb import DEFAULT_KB_DIR, validate_kb
    from dialogue.kb_edit import EditResult, FieldError, validate_candidate

    if args.candidate is not None:
        text = args.candidate.read_text(encoding="utf-8")
        return _print_edit(validate_candidate(args.kb_dir, _candidate_id(args.candidate), text, args.center),
                           args.json)
    if args.json:
        errors = validate_kb(args.kb_dir, args.center)
        result = EditResult(not errors, [FieldError(e.file, e.field, e.reason) for e in errors])
        if result.ok:
            from dialogue.kb import load_knowledge_base

            result.procedures = len(load_knowledge_base(args.kb_dir, args.center).procedures)
        return _print_edit(result, True)
    errors = validate_kb(args.kb_dir, args.center)
    for err in errors:
        print(err)
    if errors:
        print(f"{len(errors)} error(s) in {args.kb_dir or DEFAULT_KB_DIR}", file=sys.stderr)
        return 1
    from dialogue.kb import load_knowledge_base

    kb = load_knowledge_base(args.kb_dir, args.center)
    print(f"OK: {len(kb.procedures)} procedures valid")
    return 0


def _cmd_save_record(args: argparse.Namespace) -> int:
    from dialogue.kb_edit import save_record

    text = args.file.read_text(encoding="utf-8")
    result = save_record(args.kb_dir, args.record_id or _candidate_id(args.file), text, args.backup_dir,
                         args.center, args.expect_sha256)
    return _print_edit(result, args.json)


def _cmd_add_example(args: argparse.Namespace) -> int:
    from dialogue.kb_edit import add_example

    return _print_edit(add_example(args.kb_dir, args.procedure_id, args.question, args.backup_dir, args.center),
                       args.json)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m dialogue", description="Kiosk dialogue core tools.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ask", help="answer one question (JSON with --json)")
    p.add_argument("question")
    p.add_argument("--session", default=None, help="session id; follow-ups in the same session continue it")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--model-dir", type=Path, default=None, help="default: models/dialogue")
    p.add_argument("--kb-dir", type=Path, default=None, help="default: dialogue/kb/procedures")
    p.add_argument("--center", type=Path, default=None, help="default: config/center.yaml")
    p.set_defaults(func=_cmd_ask)

    p = sub.add_parser("address", help="old address -> new ward and province (offline)")
    p.add_argument("address")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_address)

    p = sub.add_parser("train", help="train the intent model (dialogue.train)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--out", type=Path, default=None, help="output folder (default: models/dialogue)")
    p.add_argument("--kb-dir", type=Path, default=None, help="KB root (default: dialogue/kb)")
    p.add_argument("--progress", action="store_true", help="print JSON lines {stage, progress} while training")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("validate", help="check the knowledge base; one line per error")
    p.add_argument("--kb-dir", type=Path, default=None, help="default: dialogue/kb/procedures")
    p.add_argument("--center", type=Path, default=None, help="default: config/center.yaml")
    p.add_argument("--candidate", type=Path, default=None,
                   help="a record file <id>.yaml to check as if it replaced that record (nothing is written)")
    p.add_argument("--json", action="store_true", help="print one JSON object with file, field, reason, line")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("save-record", help="validate a record file and save it into the KB atomically")
    p.add_argument("file", type=Path, help="the new text of the record (its name <id>.yaml names the record)")
    p.add_argument("--record-id", default=None, help="record id when the file name is not <id>.yaml")
    p.add_argument("--backup-dir", type=Path, required=True, help="the previous version is kept in <dir>/<id>/")
    p.add_argument("--expect-sha256", default=None, help="refuse (exit 3) if the record changed since then")
    p.add_argument("--kb-dir", type=Path, default=None, help="KB root or procedures folder")
    p.add_argument("--center", type=Path, default=None, help="default: config/center.yaml")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_save_record)

    p = sub.add_parser("add-example", help="add a question as an example of a procedure (validated, atomic)")
    p.add_argument("procedure_id")
    p.add_argument("question")
    p.add_argument("--backup-dir", type=Path, required=True, help="the previous version is kept in <dir>/<id>/")
    p.add_argument("--kb-dir", type=Path, default=None, help="KB root or procedures folder")
    p.add_argument("--center", type=Path, default=None, help="default: config/center.yaml")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_add_example)

    p = sub.add_parser("gen-asr-data", help="generate ASR transcripts for training (dialogue.asr_data)", add_help=False)
    p.set_defaults(func=None)
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if argv and argv[0] == "gen-asr-data":
        from dialogue.asr_data import main as asr_main

        return int(asr_main(argv[1:]) or 0)
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.debug("command failed", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
