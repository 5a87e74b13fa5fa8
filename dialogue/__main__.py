"""Command line: ``python -m dialogue {ask,address,train,validate,gen-asr-data} ...``.

Examples::

    python -m dialogue ask "làm giấy khai sinh cho con cần gì" --json
    python -m dialogue ask "thế lệ phí bao nhiêu" --session quay1 --json   # follows the last turn
    python -m dialogue address "phường 12 quận 6 tp hcm" --json
    python -m dialogue train --seed 13
    python -m dialogue validate
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
    try:
        report = train(kb_dir, args.out or DEFAULT_OUT_DIR, seed=args.seed, quiet=args.quiet)
    except KbInvalidError as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
        print("error: training stopped; fix the knowledge base errors above.", file=sys.stderr)
        return 1
    if not args.quiet:
        _print_json(report)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from dialogue.kb import DEFAULT_KB_DIR, validate_kb

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
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("validate", help="check the knowledge base; one line per error")
    p.add_argument("--kb-dir", type=Path, default=None, help="default: dialogue/kb/procedures")
    p.add_argument("--center", type=Path, default=None, help="default: config/center.yaml")
    p.set_defaults(func=_cmd_validate)

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
