"""Command line: ``python -m kiosk_ui.dashboard create-admin [--username admin] [--db PATH]``.

The first admin account is created here, on the dashboard's machine, never with a default
password: the password is asked twice on the terminal (or read from stdin with
``--password-stdin``, one line). The database path is the dashboard node's ``db_path`` parameter
from ``config/kiosk.yaml`` (relative to KIOSK_ROOT or the current folder) unless ``--db`` is given.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

import yaml

__all__ = ["main"]

DEFAULT_PARAMS = Path("config/kiosk.yaml")


def _root() -> Path:
    return Path(os.environ.get("KIOSK_ROOT", os.getcwd()))


def default_db_path(params_file: Path | None = None) -> Path:
    """The ``db_path`` of the dashboard node in the parameter file (``/**/dashboard``)."""
    path = params_file or _root() / DEFAULT_PARAMS
    value = "var/dashboard/dashboard.db"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        value = data.get("/**/dashboard", {}).get("ros__parameters", {}).get("storage", {}).get("db_path", value)
    except (OSError, yaml.YAMLError, AttributeError):
        pass
    db = Path(os.path.expanduser(str(value)))
    return db if db.is_absolute() else _root() / db


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu / password: ")
    second = getpass.getpass("Nhập lại / again: ")
    if first != second:
        raise SystemExit("error: the two passwords differ / hai mật khẩu không khớp")
    return first


def _cmd_create_admin(args: argparse.Namespace) -> int:
    from kiosk_ui.dashboard.accounts import AccountError, Accounts, Audit
    from kiosk_ui.dashboard.db import Database

    db_path = args.db or default_db_path(args.params_file)
    db = Database(db_path)
    try:
        accounts = Accounts(db)
        password = _read_password(args.password_stdin)
        try:
            account = accounts.create(args.username, args.display_name, "admin", password)
        except AccountError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        Audit(db).log("(command line)", "account_add", account.username, "role=admin")
        print(f"created admin account '{account.username}' in {db_path}")
        return 0
    finally:
        db.close()


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m kiosk_ui.dashboard", description="Staff dashboard tools.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("create-admin", help="create an admin account (first login of the dashboard)")
    p.add_argument("--username", default="admin")
    p.add_argument("--display-name", default="", help="name shown to citizens, e.g. 'Chị Lan'")
    p.add_argument("--db", type=Path, default=None, help="dashboard database (default: from config/kiosk.yaml)")
    p.add_argument("--params-file", type=Path, default=None, help="parameter file to read db_path from")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    p.set_defaults(func=_cmd_create_admin)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
