"""Calibrate, convert and document a trained run.

    python -m ml.export --run ml/runs/model2 --version 2.0.0 --out ml/runs/model2/export
    python -m ml.export --recard ml/model --version 1.2.0     # re-measure a converted model

1. Converts the Keras model to LiteRT through a SavedModel, with dynamic-range int8
   weights, and from here on measures only the converted model, the one the app serves.
2. Measures it on the validation split, per class and per collection, fits the softmax
   temperature there (NLL), and reports the expected calibration error both cross-fitted
   (fit on one half of the groups, measured on the other) and with the final temperature.
3. Fits and validates the learned out-of-scope guard (``ml.guard_fit``).
4. Writes a model folder: neurolens.tflite, head.npz, guard.npz, guard.json, card.json,
   MODEL_CARD.md. ``python -m ml.versions ship FOLDER`` then makes it the served model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from ml.data import CLASSES, DEFAULT_DATA, GROUP_DISTANCE, MANIFEST, collection_of, load_pixels, read_manifest
from ml.metrics import classification_report, expected_calibration_error, fit_temperature, softmax
from ml.preprocess import INPUT_SIZE, PIPELINE, pixels_to_input
from ml.train import recalibrate_batch_norm

MODEL_DIR = Path(__file__).resolve().parent / "model"


def convert(net, out: Path) -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        net.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        out.write_bytes(converter.convert())


def run_tflite(path: Path, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=os.cpu_count())
    inp = interp.get_input_details()[0]["index"]
    logits, pooled, batch = [], [], 0
    for s in range(0, len(pixels), 64):
        x = pixels_to_input(pixels[s:s + 64])
        if len(x) != batch:
            interp.resize_tensor_input(inp, list(x.shape))
            interp.allocate_tensors()
            batch = len(x)
        interp.set_tensor(inp, x)
        interp.invoke()
        for o in interp.get_output_details():
            t = interp.get_tensor(o["index"])
            (logits if t.ndim == 2 else pooled).append(t if t.ndim == 2 else t.mean(axis=(1, 2)))
    return np.concatenate(logits), np.concatenate(pooled)


def load_training(run: Path) -> dict:
    """The run's training summary; a resumed run's figures include the run it started from."""
    training = json.loads((run / "training.json").read_text())
    if training.get("resumed_from"):
        first = load_training(Path(training["resumed_from"]).parent)
        offset = first["epochs_run"]
        training["phases"] = [{k: v for k, v in t.items() if k not in ("history", "phases")}
                              for t in (first, training)]
        training["history"] = first["history"] + [h | {"epoch": h["epoch"] + offset} for h in training["history"]]
        training["best_epoch"] = (training["best_epoch"] or 0) + offset
        training["epochs_run"] += offset
        training["seconds"] += first["seconds"]
    return training


def hardware() -> str:
    """'2 CPU cores (AMD EPYC; AVX-512, AVX-512 BF16)': what this run's figures were taken on."""
    name, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    features = [label for flag, label in (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_bf16", "AVX-512 BF16"),
                                          ("amx_bf16", "AMX")) if flag in flags]
    return f"{os.cpu_count()} CPU cores ({name}; {', '.join(features) or 'no vector extensions listed'})"


def measure(tflite: Path, pixels: np.ndarray, examples) -> dict:
    """The converted model on the validation split: figures per class and collection, calibration."""
    y = np.array([CLASSES.index(e.label) for e in examples])
    is_val = np.array([e.split == "val" for e in examples])
    groups = np.array([e.group for e in examples])
    colls = np.array([collection_of(e.path) for e in examples])
    logits, _ = run_tflite(tflite, pixels[is_val])
    vy, vg, vc = y[is_val], groups[is_val], colls[is_val]
    report = classification_report(vy, logits.argmax(1))
    #  Test-time flips, measured but not served unless they pay for the second forward pass.
    flipped, _ = run_tflite(tflite, pixels[is_val][:, :, ::-1])
    tta = classification_report(vy, (logits + flipped).argmax(1))
    temperature = fit_temperature(logits, vy)
    #  Cross-fitted: the temperature fitted on a random half of the validation groups, the ECE
    #  measured on the other half; 40 seeded draws, since one half-split alone swings by +-0.01.
    rng, cross = np.random.default_rng(0), []
    for _ in range(40):
        a = np.isin(vg, rng.permutation(np.unique(vg))[:len(np.unique(vg)) // 2])
        cross.append(expected_calibration_error(softmax(logits[~a], fit_temperature(logits[a], vy[a])), vy[~a]))
    probs = softmax(logits, temperature)
    by_collection = {}
    for name in sorted(set(vc.tolist())):
        sel = vc == name
        rep = classification_report(vy[sel], logits[sel].argmax(1))
        by_collection[name] = {"images": int(sel.sum()), "accuracy": round(rep["accuracy"], 4),
                               "macro_f1": round(rep["macro_f1"], 4), "recall": rep["recall"],
                               "ece": round(expected_calibration_error(probs[sel], vy[sel]), 4)}
    wrong = probs.argmax(1) != vy
    metrics = {
        "split": "validation (group-disjoint, stratified by class and collection)",
        "accuracy": round(report["accuracy"], 4),
        "macro_precision": round(report["macro_precision"], 4),
        "macro_recall": round(report["macro_recall"], 4),
        "macro_f1": round(report["macro_f1"], 4),
        "per_class": {c: {"precision": report["precision"][c], "recall": report["recall"][c],
                          "f1": report["f1"][c], "support": report["support"][c]} for c in CLASSES},
        "confusion": report["confusion"],
        "per_collection": by_collection,
        "wrong_above_0_9": int((wrong & (probs.max(1) > 0.9)).sum()),
        "wrong": int(wrong.sum()),
        "flip_tta": {"accuracy": round(tta["accuracy"], 4), "macro_f1": round(tta["macro_f1"], 4),
                     "min_recall": round(min(tta["recall"].values()), 4), "served": False},
    }
    calibration = {
        "method": "temperature scaling fitted on validation (NLL)",
        "temperature": round(temperature, 4),
        "ece_uncalibrated": round(expected_calibration_error(softmax(logits), vy), 4),
        "ece_cross_fitted": round(float(np.mean(cross)), 4),
        "ece_cross_fitted_range": [round(float(min(cross)), 4), round(float(max(cross)), 4)],
        "ece": round(expected_calibration_error(probs, vy), 4),
        "bins": 15,
    }
    print(f"val acc {report['accuracy']:.4f} F1 {report['macro_f1']:.4f} recall {report['recall']} "
          f"T {temperature:.3f} ECE {calibration['ece']:.4f} (cross-fitted {calibration['ece_cross_fitted']:.4f}); "
          f"by collection {json.dumps({k: v['accuracy'] for k, v in by_collection.items()})}", flush=True)
    return {"metrics": metrics, "calibration": calibration, "logits": logits}


def data_summary(examples, report_support: dict) -> dict:
    groups = np.array([e.group for e in examples])
    is_val = np.array([e.split == "val" for e in examples])
    return {
        "sources": ["brain-tumor-mri (Nickparvar)", "brain-tumor-classification (Bhuvaji et al.)"],
        "images": len(examples), "train_images": int((~is_val).sum()), "val_images": int(is_val.sum()),
        "groups": len(set(groups.tolist())),
        "train_groups": len(set(groups[~is_val].tolist())),
        "val_groups": len(set(groups[is_val].tolist())),
        "split": f"near-duplicate groups (dihedral pHash, Hamming <= {GROUP_DISTANCE}/256); a fifth of the groups "
                 "of every stratum (majority class x the collections a group's copies come from) to validation, "
                 "chosen by a seeded hash; manifest ml/splits/manifest.csv",
        "val_support": report_support,
    }


def finish_card(card: dict, out: Path, examples, pixels, t0: float, carried: dict | None = None) -> dict:
    """Measure the folder's model, fit its guard, and write card.json and MODEL_CARD.md; ``carried``
    metrics (figures of the same network file that this run cannot measure again) are kept."""
    from ml.card import write_markdown
    from ml.guard_fit import fit_and_validate

    tflite = out / "neurolens.tflite"
    figures = measure(tflite, pixels, examples)
    card["metrics"] = figures["metrics"] | {k: v for k, v in (carried or {}).items() if v is not None}
    card["calibration"] = figures["calibration"]
    card["data"] = data_summary(examples, {c: v["support"] for c, v in figures["metrics"]["per_class"].items()})
    card["sha256"] = hashlib.sha256(tflite.read_bytes()).hexdigest()
    card["file"], card["file_bytes"] = tflite.name, tflite.stat().st_size
    card["out_of_scope"] = fit_and_validate(out, reuse=True)
    card["export_seconds"] = round(time.perf_counter() - t0)
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    write_markdown(card, out / "MODEL_CARD.md")
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s; sha256 {card['sha256'][:16]}", flush=True)
    return card


ARCHITECTURE_TEXT = {
    "v1": "compact residual CNN: 3x3 conv stem (16 channels, stride 2), four residual blocks of 3x3 convolutions "
          "(24-96 channels), two depthwise-separable residual blocks (96, 192 channels) at 10x10, global average "
          "pooling, dense softmax head; batch norm throughout; served as LiteRT with dynamic-range int8 weights",
    "v2": "compact residual CNN: 3x3 conv stem (16 channels, stride 2), four residual blocks of 3x3 convolutions "
          "(24-128 channels), four depthwise-separable residual blocks (128 channels, then 320) at 10x10, global "
          "average pooling, dense softmax head; batch norm throughout; served as LiteRT with dynamic-range int8 "
          "weights",
}


def export_run(args) -> int:
    import keras

    t0 = time.perf_counter()
    net = keras.models.load_model(args.run / f"{args.weights}.keras")
    examples = read_manifest(MANIFEST)
    pixels = load_pixels(args.data, examples, progress=False)
    is_val = np.array([e.split == "val" for e in examples])
    y = np.array([CLASSES.index(e.label) for e in examples])
    training = load_training(args.run)
    #  The trainer saves EMA weights with batch-norm statistics already re-estimated on clean
    #  images; for older runs, keep recalibrated statistics only where they do better.
    before = net.predict(pixels_to_input(pixels[is_val]), verbose=0)[0].argmax(1)
    acc_before = acc_after = float((before == y[is_val]).mean())
    bn_recalibrated = bool(training.get("ema"))
    if not bn_recalibrated:
        saved = net.get_weights()
        recalibrate_batch_norm(net, pixels[~is_val], batches=60)
        after = net.predict(pixels_to_input(pixels[is_val]), verbose=0)[0].argmax(1)
        acc_after = float((after == y[is_val]).mean())
        bn_recalibrated = acc_after > acc_before
        if not bn_recalibrated:
            net.set_weights(saved)
        print(f"batch-norm recalibration: val accuracy {acc_before:.4f} -> {acc_after:.4f}, "
              f"{'kept' if bn_recalibrated else 'discarded'}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    convert(net, args.out / "neurolens.tflite")
    dense = net.get_layer("logits")
    np.savez_compressed(args.out / "head.npz", dense_kernel=dense.kernel.numpy(), dense_bias=dense.bias.numpy())
    arch = training.get("arch", "v1")
    card = {
        "name": "neurolens-cnn",
        "version": f"neurolens-cnn-{args.version}",
        "created": date.today().isoformat(),
        "architecture": ARCHITECTURE_TEXT[arch],
        "parameters": int(net.count_params()),
        "input": {"size": [INPUT_SIZE, INPUT_SIZE, 1], "mode": "grayscale, padded to square, [0, 1]",
                  "pipeline": PIPELINE},
        "classes": list(CLASSES),
        "training": {k: v for k, v in training.items() if k != "history"} | {
            "weights": args.weights,
            "hardware": hardware(),
            "precision": training.get("precision", "float32"),
            "optimizer": f"AdamW, peak learning rate {training.get('lr', 2e-3):g}, cosine decay over a wall-clock "
                         f"budget after a 4% warm-up, weight decay {training.get('weight_decay', 1e-4):g}",
            "augmentation": "flips, quarter turns, rotation +-15 deg, zoom 0.87-1.12, shift 6%, gamma, brightness, "
                            "noise" + (f"; mixup or cutmix on {training['mix_prob']:.0%} of batches"
                                       if training.get("mix_prob") else ""),
            "sampling": "class-balanced, each image weighted 1/sqrt(its near-duplicate group size)",
            "weight_averaging": f"exponential moving average of the weights (decay {training['ema']})"
                                if training.get("ema") else "none",
            "batch_norm_recalibrated": bn_recalibrated,
            "val_accuracy_before_recalibration": round(acc_before, 4),
        },
        "history": training["history"],
        "intended_use": INTENDED_USE,
    }
    finish_card(card, args.out, examples, pixels, t0)
    return 0


INTENDED_USE = "Supports a clinician's decision on 2-D brain MRI slices; it is not a diagnosis."


def recard(args) -> int:
    """Re-measure an already converted model folder on the current split and give it a new version."""
    t0 = time.perf_counter()
    card = json.loads((args.recard / "card.json").read_text())
    previous = card["version"]
    examples = read_manifest(MANIFEST)
    pixels = load_pixels(args.data, examples, progress=False)
    card["version"] = f"neurolens-cnn-{args.version}"
    card["created"] = date.today().isoformat()
    card["derived_from"] = {"version": previous, "sha256": card.get("sha256"),
                            "change": args.change or "re-measured on the current validation split"}
    card.pop("speed", None)
    (args.recard / "scope.npz").unlink(missing_ok=True)  # replaced by the learned guard
    #  The same network file: its figure on the images an older split held out stays true of it.
    carried = {"unseen_by_this_network": card.get("metrics", {}).get("unseen_by_this_network")}
    finish_card(card, args.recard, examples, pixels, t0, carried)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Calibrate, convert to LiteRT, fit the guard and write the model card.")
    p.add_argument("--run", type=Path, help="training run folder (best.keras, last.keras, training.json)")
    p.add_argument("--recard", type=Path, help="instead of --run: a converted model folder to re-measure")
    p.add_argument("--change", help="with --recard: what changed from the folder's previous version")
    p.add_argument("--weights", choices=("best", "last"), default="last",
                   help="the epoch with the best validation macro-F1, or the last one (the end of the annealed "
                        "schedule, chosen by no validation figure)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--out", type=Path, help="model folder to write (default: RUN/export)")
    p.add_argument("--version", required=True, help="e.g. 2.0.0")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.recard:
        return recard(args)
    if not args.run:
        p.error("give --run or --recard")
    args.out = args.out or args.run / "export"
    return export_run(args)


if __name__ == "__main__":
    raise SystemExit(main())
