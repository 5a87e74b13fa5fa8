#!/usr/bin/env bash
# Set up (first run: a few minutes) and run the whole kiosk. Without a microphone or speaker it
# uses simulated devices: WAV files dropped into var/sim_mic/ are "spoken", replies are written
# to var/tts_out/. The touchscreen page is at http://127.0.0.1:8080/. Ctrl-C stops everything.
# Extra arguments go to kiosk_bringup (e.g. --namespace kiosk2 --params-file my.yaml --log-level debug).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
mkdir -p "$ROOT/var/sim_mic" "$ROOT/var/tts_out"
echo "[kiosk] page: http://127.0.0.1:8080/   speak: copy a 16 kHz WAV into var/sim_mic/   stop: Ctrl-C" >&2
echo "[kiosk] staff dashboard: http://127.0.0.1:8090/ (first account: .venv/bin/python -m kiosk_ui.dashboard create-admin;" \
  "other kiosks of the center: --no-dashboard)" >&2
exec "$ROOT/.venv/bin/kiosk_bringup" --root "$ROOT" "$@"
