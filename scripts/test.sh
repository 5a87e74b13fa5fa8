#!/usr/bin/env bash
# Set up (including the test tools) and run the linter and the whole test suite.
# Extra arguments go to pytest (e.g. -k dialogue, -m "not slow").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh --test
.venv/bin/ruff check .
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
code=$?
set -e
if [[ $code == 5 ]]; then
  echo "[test] pytest collected no tests (exit 5): check the -k/-m filter you passed" >&2
fi
exit $code
