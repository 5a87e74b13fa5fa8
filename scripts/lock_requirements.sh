#!/usr/bin/env bash
# Regenerate requirements.lock (every package pinned, with sha256 hashes) from requirements.txt.
# Run it after any change to requirements.txt and commit both files; scripts/setup.sh installs
# the lock and notices when it is stale. Existing pins are kept; `--upgrade` takes newest versions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${KIOSK_PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
TOOLS="$ROOT/build/lock-tools"
if [[ ! -x "$TOOLS/bin/pip-compile" ]]; then
  "$PYTHON" -m venv "$TOOLS"
  "$TOOLS/bin/pip" install -q "pip-tools==7.6.2"
fi
echo "[lock] resolving requirements.txt (a few minutes) ..." >&2
"$TOOLS/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
  --no-emit-find-links --output-file requirements.lock "$@" requirements.txt
sha="$(sha256sum requirements.txt | cut -d' ' -f1)"
sed -i '/^# requirements.txt sha256: /d' requirements.lock
sed -i "1i # requirements.txt sha256: $sha (scripts/setup.sh compares it; regenerate with scripts/lock_requirements.sh)" \
  requirements.lock
echo "[lock] requirements.lock written for Python $("$PYTHON" -c 'import sys; print(*sys.version_info[:2], sep=".")')" >&2
