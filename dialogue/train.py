"""Train the intent model (char + word n-gram TF-IDF, logistic regression) and export it to ONNX.

Data: each procedure's examples, name and aliases (also inside question templates), the
dialogue-act examples (``dialogue/kb/acts.yaml``), the out-of-scope examples
(``dialogue/kb/out_of_scope.yaml``), real recognition output of training sentences
(``dialogue/kb/asr_transcripts.yaml``) and seeded augmentation. The out-of-scope probability
threshold is calibrated on a held-out split of that data (split by source sentence, before
augmentation). Needs scikit-learn and skl2onnx; run time needs neither.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from dialogue.augment import augment
from dialogue.model import META_FILE, MODEL_FILE, OUT_OF_SCOPE, prepare_text
from kiosk_protocol.text import fold_diacritics, nfc

__all__ = ["DEFAULT_OUT_DIR", "TrainOptions", "build_dataset", "fit_pipeline", "load_training_sources", "train"]

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DIALOGUE_KB = REPO_ROOT / "dialogue" / "kb"
DEFAULT_OUT_DIR = REPO_ROOT / "models" / "dialogue"
ACTS_FILE = "acts.yaml"
OOS_FILE = "out_of_scope.yaml"
ASR_FILE = "asr_transcripts.yaml"

# Dialogue acts that are a word or two: no elderly wrappers around them in augmentation.
SHORT_ACTS = frozenset({"greeting", "goodbye", "thanks", "yes", "no", "repeat", "speak_slower"})

# Question frames around a procedure's name or alias, labelled with the procedure.
TEMPLATES = (
    "{x}",
    "làm {x}",
    "thủ tục {x}",
    "cho hỏi {x}",
    "tôi muốn {x}",
    "{x} cần giấy tờ gì",
    "{x} mất bao lâu",
    "{x} ở đâu",
    "{x} hết bao nhiêu tiền",
    "{x} làm online được không",
    "hồ sơ {x} gồm những gì",
    "muốn {x} thì làm sao",
    "em cần {x}",
    "hướng dẫn {x}",
    "{x} nộp ở quầy nào",
    "thủ tục {x} như thế nào",
    "{x} làm ở mô",
    "{x} cần chi rứa",
    "{x} thì làm răng",
    "{x} có lâu hông",
    "{x} tốn nhiêu tiền dị",
    "bác muốn hỏi về {x}",
    "tôi già rồi không rành, muốn {x} thì phải làm sao",
    "nhà tôi cần {x} gấp",
    "hỏi chút về {x}",
    "mình muốn làm {x} thì bắt đầu từ đâu",
    "{x} có phải đến tận nơi không",
    "con tôi bảo ra đây hỏi {x}",
)


@dataclass
class TrainOptions:
    """Model and data settings (defaults are the shipped configuration)."""

    ngram_min: int = 1
    ngram_max: int = 4
    word_ngram_max: int = 2  # 0 = no word features
    min_df: int = 2
    max_features: int = 60000
    c_value: float = 20.0
    sublinear_tf: bool = False
    max_iter: int = 300
    variants_per_example: int = 10
    templates_per_alias: int = 8
    calibration_fraction: float = 0.2
    calibration_variants: int = 3  # augmented variants per held-out sentence when calibrating
    oos_weight: float = 0.5  # weight of out-of-scope recall vs in-scope accuracy in calibration
    max_wrong_answer_rate_speech: float = 0.02  # calibration of the speech answer threshold (the goal)


@dataclass(frozen=True)
class Sample:
    """One labelled source sentence; ``group`` keeps a sentence and its variants on one side of a split."""

    text: str
    label: str
    group: str
    augment: bool = True


# --------------------------------------------------------------------------- data


def _resolve_dirs(kb_dir: Path) -> tuple[Path, Path]:
    """(procedures folder, folder holding acts.yaml etc.) for a KB root or a procedures folder."""
    kb_dir = Path(kb_dir)
    procedures = kb_dir / "procedures" if (kb_dir / "procedures").is_dir() else kb_dir
    for extra in (kb_dir, kb_dir.parent):
        if (extra / ACTS_FILE).is_file():
            return procedures, extra
    return procedures, DIALOGUE_KB


def _read_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _procedure_texts(procedures_dir: Path, strict: bool) -> dict[str, dict[str, list[str]]]:
    """{procedure id: {"examples": [...], "names": [...]}} from the KB."""
    out: dict[str, dict[str, list[str]]] = {}
    if strict:
        from dialogue.kb import load_knowledge_base

        kb = load_knowledge_base(procedures_dir)
        for pid, proc in sorted(kb.procedures.items()):
            out[pid] = {"examples": list(proc.examples), "names": [proc.name, proc.short_name, *proc.aliases]}
        return out
    for path in sorted(procedures_dir.glob("*.yaml")):  # lenient: only the fields the model needs
        try:
            data = _read_yaml(path)
        except (OSError, yaml.YAMLError) as exc:
            log.warning("skipping %s: %s", path, exc)
            continue
        if not isinstance(data, dict):
            continue
        names = [data.get("name"), data.get("short_name"), *(data.get("aliases") or [])]
        out[path.stem] = {
            "examples": [str(x) for x in data.get("examples") or [] if x],
            "names": [str(x) for x in names if x],
        }
    return out


def load_training_sources(kb_dir: Path, strict: bool = True) -> tuple[list[Sample], dict[str, int]]:
    """Every labelled source sentence (before augmentation) and a count per source."""
    procedures_dir, extra_dir = _resolve_dirs(kb_dir)
    samples: list[Sample] = []
    counts = {"procedure_examples": 0, "procedure_names": 0, "acts": 0, "out_of_scope": 0, "asr": 0}
    procs = _procedure_texts(procedures_dir, strict)
    if not procs:
        raise ValueError(f"no procedure files found in {procedures_dir}; check the KB folder")
    for pid, texts in procs.items():
        for i, text in enumerate(texts["examples"]):
            samples.append(Sample(nfc(text), pid, f"{pid}/ex{i}"))
            counts["procedure_examples"] += 1
        for j, name in enumerate(dict.fromkeys(n.strip().lower() for n in texts["names"])):
            samples.append(Sample(nfc(name), pid, f"{pid}/name{j}"))
            counts["procedure_names"] += 1
    acts = (_read_yaml(extra_dir / ACTS_FILE) or {}).get("acts") or {}
    for act, examples in sorted(acts.items()):
        for i, text in enumerate(examples or []):
            samples.append(Sample(nfc(str(text)), str(act), f"{act}/ex{i}"))
            counts["acts"] += 1
    for i, text in enumerate((_read_yaml(extra_dir / OOS_FILE) or {}).get("examples") or []):
        samples.append(Sample(nfc(str(text)), OUT_OF_SCOPE, f"oos/ex{i}"))
        counts["out_of_scope"] += 1
    labels = set(procs) | set(acts) | {OUT_OF_SCOPE}
    asr_path = extra_dir / ASR_FILE
    group_of = {s.text: s.group for s in samples}
    if asr_path.is_file():
        items = (_read_yaml(asr_path) or {}).get("items") or []
        for i, item in enumerate(items):
            text, intent = str(item.get("text_asr") or "").strip(), str(item.get("intent") or "")
            if text and intent in labels:
                # Real ASR output: already noisy, only diacritic folding is added.
                group = group_of.get(nfc(str(item.get("text_clean") or "")), f"asr/{i}")
                samples.append(Sample(nfc(text), intent, group, augment=False))
                counts["asr"] += 1
    return samples, counts


def _template_samples(samples: list[Sample], rng: random.Random, per_name: int) -> list[Sample]:
    out = []
    for s in samples:
        if "/name" in s.group:
            for tpl in rng.sample(TEMPLATES[1:], k=min(per_name, len(TEMPLATES) - 1)):
                out.append(Sample(tpl.format(x=s.text), s.label, s.group))
    return out


def build_dataset(sources: list[Sample], seed: int, opts: TrainOptions) -> tuple[list[str], list[str]]:
    """Texts and labels after templating and augmentation (deterministic for a given seed)."""
    rng = random.Random(seed)
    expanded = sources + _template_samples(sources, rng, opts.templates_per_alias)
    texts: list[str] = []
    labels: list[str] = []
    for s in expanded:
        n = opts.variants_per_example
        long_forms = s.label not in SHORT_ACTS
        variants = augment(s.text, rng, n, long_forms) if s.augment else [fold_diacritics(s.text)]
        for t in [s.text, *variants]:
            texts.append(prepare_text(t))
            labels.append(s.label)
    return texts, labels


def _data_hash(sources: list[Sample], seed: int, opts: TrainOptions) -> str:
    h = hashlib.sha256(json.dumps([seed, sorted(vars(opts).items())]).encode())
    for s in sorted(sources, key=lambda s: (s.label, s.group, s.text)):
        h.update(f"{s.label}\t{s.group}\t{s.text}\t{s.augment}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- model


def _fit(texts: list[str], labels: list[str], opts: TrainOptions) -> object:
    """Char n-gram TF-IDF + word uni/bigram TF-IDF (words = runs without space or "|") + logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    common = {"lowercase": False, "sublinear_tf": opts.sublinear_tf, "min_df": opts.min_df, "dtype": np.float32}
    char = TfidfVectorizer(
        analyzer="char", ngram_range=(opts.ngram_min, opts.ngram_max), max_features=opts.max_features, **common
    )
    feats = [("char", char)]
    if opts.word_ngram_max > 0:
        word = TfidfVectorizer(analyzer="word", token_pattern=r"[^ |]+", ngram_range=(1, opts.word_ngram_max), **common)
        feats.append(("word", word))
    clf = LogisticRegression(C=opts.c_value, max_iter=opts.max_iter, tol=1e-4)
    pipe = Pipeline([("feats", FeatureUnion(feats)), ("clf", clf)])
    pipe.fit(texts, labels)
    return pipe


def _calibrate(probs: np.ndarray, classes: list[str], truth: list[str], oos_weight: float) -> dict:
    """Pick the threshold that maximizes in-scope accuracy + oos_weight * out-of-scope recall.

    The score is smoothed over neighbouring thresholds (+-0.03) first: the curve is flat near its
    top, so the plain maximum would jump with small changes of the data.
    """
    top = probs.argmax(axis=1)
    top_p = probs.max(axis=1)
    top_label = np.array([classes[i] for i in top])
    truth_arr = np.array(truth)
    is_oos = truth_arr == OUT_OF_SCOPE
    rows = []
    for t in np.round(np.arange(0.0, 0.61, 0.01), 2):
        pred = np.where((top_p < t) | (top_label == OUT_OF_SCOPE), OUT_OF_SCOPE, top_label)
        in_acc = float((pred[~is_oos] == truth_arr[~is_oos]).mean()) if (~is_oos).any() else 0.0
        oos_rec = float((pred[is_oos] == OUT_OF_SCOPE).mean()) if is_oos.any() else 0.0
        rows.append(
            {
                "threshold": float(t),
                "score": in_acc + oos_weight * oos_rec,
                "in_scope_accuracy": in_acc,
                "oos_recall": oos_rec,
            }
        )
    scores = np.array([r["score"] for r in rows])
    smooth = np.convolve(np.pad(scores, 3, mode="edge"), np.ones(7) / 7, mode="valid")
    best = dict(rows[int(np.argmax(smooth))])
    best["smoothed_score"] = float(smooth.max())
    return best


def _calibrate_answer(probs: np.ndarray, classes: list[str], truth: list[str], procedures: set[str],
                      max_wrong_rate: float) -> dict:
    """The lowest probability at which answering the top procedure is wrong for at most
    ``max_wrong_rate`` of all turns (dialogue.uncertainty confirms or offers candidates below it)."""
    top = probs.argmax(axis=1)
    top_p = probs.max(axis=1)
    top_label = np.array([classes[i] for i in top])
    truth_arr = np.array(truth)
    is_proc = np.array([lb in procedures for lb in top_label])
    rows = []
    for t in np.round(np.arange(0.3, 0.96, 0.01), 2):
        answered = is_proc & (top_p >= t)
        wrong = float((answered & (top_label != truth_arr)).mean())
        right = float((answered & (top_label == truth_arr)).mean())
        rows.append({"threshold": float(t), "wrong_rate": wrong, "right_rate": right})
    best = next((r for r in rows if r["wrong_rate"] <= max_wrong_rate), rows[-1])
    curve = [[r["threshold"], round(r["wrong_rate"], 4), round(r["right_rate"], 4)] for r in rows]
    return {**best, "max_wrong_rate": max_wrong_rate, "n": len(truth), "curve": curve}


def _to_onnx(pipe: object) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    options: dict = {id(v): {"locale": "C.UTF-8"} for _, v in pipe.named_steps["feats"].transformer_list}  # type: ignore[attr-defined]
    options[id(pipe.named_steps["clf"])] = {"zipmap": False}  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        # "only tokenizer='word' is fully supported": char analyzers convert exactly (tests check it)
        warnings.filterwarnings("ignore", message="The conversion of CountVectorizer", category=UserWarning)
        onx = convert_sklearn(
            pipe,
            initial_types=[("text", StringTensorType([None, 1]))],
            options=options,
            target_opset={"": 17, "ai.onnx.ml": 3},
            naming="dlg_",
        )
    # Make the bytes reproducible: skl2onnx names the graph with a random UUID and lists the
    # opsets in set order.
    onx.doc_string = ""
    onx.graph.name = "kiosk_intent_model"
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import), key=lambda o: o[0])
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    return onx.SerializeToString()


def _write_atomically(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write files into a temp folder beside ``out_dir``, then swap it in with renames."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    if out_dir.exists():
        out_dir.rename(old)
    try:
        tmp.rename(out_dir)
    except OSError:
        if old.exists():
            old.rename(out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def train(
    kb_dir: Path,
    out_dir: Path,
    seed: int = 13,
    quiet: bool = False,
    *,
    strict: bool = True,
    options: TrainOptions | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict:
    """Build ``out_dir/dialogue.onnx`` + ``meta.json``; return a report dict.

    ``progress(stage, fraction)`` is called as training moves on (for a progress bar).

    ``kb_dir`` is the KB root (``dialogue/kb``) or its ``procedures`` folder. With ``strict`` the
    KB must pass validation (:func:`dialogue.kb.load_knowledge_base`). On any error nothing in
    ``out_dir`` is touched, so the last good model stays.
    """
    opts = options or TrainOptions()
    report_progress = progress or (lambda stage, fraction: None)
    t0 = time.perf_counter()
    report_progress("reading the knowledge base", 0.02)
    sources, counts = load_training_sources(Path(kb_dir), strict=strict)
    labels_all = sorted({s.label for s in sources})

    # 1) calibration model on a group split, threshold chosen on the held-out part
    rng = random.Random(seed)
    groups = sorted({s.group for s in sources})
    rng.shuffle(groups)
    held_groups = set(groups[: int(len(groups) * opts.calibration_fraction)])
    fit_src = [s for s in sources if s.group not in held_groups]
    held_src = [s for s in sources if s.group in held_groups]
    fit_x, fit_y = build_dataset(fit_src, seed, opts)
    report_progress("calibration model", 0.1)
    cal_pipe = _fit(fit_x, fit_y, opts)
    report_progress("calibrating the out-of-scope threshold", 0.45)
    # Calibrate on lightly varied held-out text (the sentence, without diacritics, a few variants):
    # the full augmentation is harsher than real questions and would push the threshold to 0.
    held_opts = TrainOptions(**{**vars(opts), "variants_per_example": opts.calibration_variants})
    held_x, held_y = build_dataset(held_src, seed + 1, held_opts)
    cal_classes = [str(c) for c in cal_pipe.classes_]  # type: ignore[attr-defined]
    calib = _calibrate(cal_pipe.predict_proba(held_x), cal_classes, held_y, opts.oos_weight)  # type: ignore[attr-defined]
    # Recognizer output is noisier than typed text, so its probabilities are lower: calibrate a
    # second threshold on the held-out sentences' real ASR transcripts (never augmented).
    held_asr = [s for s in held_src if not s.augment]
    calib_voice = calib
    n_oos = sum(s.label == OUT_OF_SCOPE for s in held_asr)
    if n_oos:
        # objective: plain accuracy on recognized speech (out-of-scope weighted by its frequency);
        # a fixed bonus for rejecting would turn away most garbled in-scope questions
        asr_x = [prepare_text(s.text) for s in held_asr]
        calib_voice = _calibrate(cal_pipe.predict_proba(asr_x), cal_classes, [s.label for s in held_asr],  # type: ignore[attr-defined]
                                 n_oos / max(1, len(held_asr) - n_oos))
    procedure_labels = {s.label for s in sources if "/name" in s.group}  # only procedures have names
    answer_voice = {"threshold": None}
    if held_asr:
        answer_voice = _calibrate_answer(cal_pipe.predict_proba([prepare_text(s.text) for s in held_asr]),  # type: ignore[attr-defined]
                                         cal_classes, [s.label for s in held_asr], procedure_labels,
                                         opts.max_wrong_answer_rate_speech)
    if not quiet:
        log.info("calibration: typed %s, recognized speech %s, speech answers %s", calib, calib_voice, answer_voice)

    # 2) final model on everything
    x, y = build_dataset(sources, seed, opts)
    report_progress("final model", 0.5)
    pipe = _fit(x, y, opts)
    classes = [str(c) for c in pipe.classes_]  # type: ignore[attr-defined]
    report_progress("exporting to ONNX", 0.9)
    onnx_bytes = _to_onnx(pipe)
    data_hash = _data_hash(sources, seed, opts)
    meta = {
        "labels": classes,
        "oos_threshold": calib["threshold"],
        "oos_threshold_speech": calib_voice["threshold"],
        "answer_threshold_speech": answer_voice["threshold"],
        "seed": seed,
        "training_data_sha256": data_hash,
        "model_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "n_sources": len(sources),
        "n_training_texts": len(x),
        "source_counts": counts,
        "calibration": calib,
        "calibration_speech": calib_voice,
        "calibration_speech_answer": answer_voice,
        "options": vars(opts),
        "text_preparation": "dialogue.model.prepare_text",
    }
    report_progress("writing the model", 0.97)
    _write_atomically(
        Path(out_dir),
        {MODEL_FILE: onnx_bytes, META_FILE: json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8")},
    )
    report = {
        **{k: meta[k] for k in ("oos_threshold", "oos_threshold_speech", "answer_threshold_speech",
                                "training_data_sha256", "model_sha256", "n_sources")},
        "n_training_texts": len(x),
        "n_labels": len(classes),
        "labels_missing_examples": sorted(set(labels_all) - set(classes)),
        "source_counts": counts,
        "calibration": calib,
        "model_bytes": len(onnx_bytes),
        "train_s": round(time.perf_counter() - t0, 2),
        "out_dir": str(out_dir),
    }
    if not quiet:
        log.info("trained intent model: %s", json.dumps(report, ensure_ascii=False))
    return report


def fit_pipeline(kb_dir: Path, seed: int = 13, strict: bool = True, options: TrainOptions | None = None) -> object:
    """The fitted scikit-learn pipeline that :func:`train` exports (for parity checks with ONNX)."""
    opts = options or TrainOptions()
    sources, _ = load_training_sources(Path(kb_dir), strict=strict)
    x, y = build_dataset(sources, seed, opts)
    return _fit(x, y, opts)
