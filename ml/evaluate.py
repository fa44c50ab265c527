"""Evaluate a model on a class-folder data set: ``python -m ml.evaluate DIR``.

The served model by default; ``--version neurolens-cnn-1.1.0`` (any version kept in
ml/model/archive/) or ``--all-versions`` to measure every runnable version on the same images.

DIR holds one sub-folder per class (``glioma`` or ``glioma_tumor`` and so on), at any depth.
With ``--manifest`` the files and labels come from a split manifest instead (e.g. the
validation split: ``--manifest ml/splits/manifest.csv --split val``).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from ml.data import CLASSES, DEFAULT_DATA, collection_of, find_examples, read_manifest
from ml.infer import MAX_BATCH, get_classifier
from ml.metrics import by_group, classification_report, expected_calibration_error
from ml.predict import describe_error


def evaluate(root: Path, examples, progress: bool = False, version: str | None = None) -> dict:
    """Figures of ``version`` (the served model when None) on labelled examples."""
    clf = get_classifier(version)
    y_true, y_pred, probs, errors, flagged, kept = [], [], [], Counter(), [], []
    for start in range(0, len(examples), MAX_BATCH):
        chunk = examples[start:start + MAX_BATCH]
        for ex, res in zip(chunk, clf.classify_files([str(root / e.path) for e in chunk])):
            if isinstance(res, BaseException):
                errors[describe_error(res)] += 1
                continue
            kept.append(ex)
            y_true.append(CLASSES.index(ex.label))
            y_pred.append(CLASSES.index(res.label))
            probs.append([res.probabilities[c] for c in CLASSES])
            flagged.append(res.out_of_scope)
        if progress:
            print(f"\r{min(start + MAX_BATCH, len(examples))}/{len(examples)}", end="", flush=True)
    if progress:
        print()
    y_true, y_pred = np.array(y_true, int), np.array(y_pred, int)
    probs = np.array(probs).reshape(-1, len(CLASSES))
    report = classification_report(y_true, y_pred)
    report["ece"] = expected_calibration_error(probs, y_true)
    #  A flagged image's probabilities are set equal (no class is claimed): the calibration of the
    #  answers the model does give is measured on the images it keeps.
    in_scope = ~np.array(flagged, bool)
    report["ece_in_scope"] = expected_calibration_error(probs[in_scope], y_true[in_scope]) if in_scope.any() else None
    report["wrong_above_0_9"] = int(((y_true != y_pred) & (probs.max(1) > 0.9)).sum())
    colls = np.array([collection_of(e.path) for e in kept])
    report["per_collection"] = {
        name: {k: rep[k] for k in ("n", "accuracy", "recall")}
        for name in sorted(set(colls.tolist()))
        for rep in [classification_report(y_true[colls == name], y_pred[colls == name])]}
    if kept and all(e.group >= 0 for e in kept):  # a manifest's examples know their near-duplicate group
        report["by_group"] = by_group(y_true, y_pred, [e.group for e in kept])
    report["out_of_scope"] = int(sum(flagged))
    report["unreadable"] = sum(errors.values())
    report["unreadable_reasons"] = dict(errors)
    report["model_version"] = clf.version
    return report


def compare_versions(root: Path, examples) -> dict[str, dict]:
    """Every runnable model version measured on the same examples, oldest first."""
    from ml.versions import all_cards

    return {c["version"]: evaluate(root, examples, version=c["version"]) for c in all_cards() if c["runnable"]}


def format_report(r: dict) -> str:
    lines = [f"model {r['model_version']}: {r['n']} images",
             (f"accuracy {r['accuracy']:.4f}   macro precision {r['macro_precision']:.4f}   "
              f"macro recall {r['macro_recall']:.4f}   macro F1 {r['macro_f1']:.4f}"),
             f"expected calibration error (15 bins) {r['ece']:.4f}   flagged out of scope {r['out_of_scope']}",
             "", f"{'class':12s} {'precision':>9s} {'recall':>7s} {'F1':>7s} {'support':>8s}"]
    for c in CLASSES:
        lines.append(f"{c:12s} {r['precision'][c]:9.4f} {r['recall'][c]:7.4f} {r['f1'][c]:7.4f} {r['support'][c]:8d}")
    lines += ["", "confusion matrix (rows true, columns predicted)", " " * 12 + "".join(f"{c[:10]:>11s}" for c in CLASSES)]
    for c, row in zip(CLASSES, r["confusion"]):
        lines.append(f"{c:12s}" + "".join(f"{v:11d}" for v in row))
    lines.append("")
    for name, v in r.get("per_collection", {}).items():
        lines.append(f"{name}: {v['n']} images, accuracy {v['accuracy']:.4f}, recall "
                     + ", ".join(f"{c} {v['recall'][c]:.3f}" for c in CLASSES))
    if "by_group" in r:
        g = r["by_group"]
        lo, hi = g["accuracy_interval"]
        lines.append(f"each near-duplicate group counted once ({g['groups']} groups): accuracy {g['accuracy']:.4f} "
                     f"(95% interval {lo:.4f}-{hi:.4f}), recall " + ", ".join(f"{c} {g['recall'][c]:.3f}" for c in CLASSES))
    lines.append(f"\nunreadable files: {r['unreadable']}")
    lines += [f"  {n} x {why}" for why, n in r["unreadable_reasons"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Accuracy, per-class figures, confusion matrix and calibration "
                                            "of the NeuroLens CNN on labelled images.")
    p.add_argument("dir", type=Path, nargs="?", default=None, help="folder with one sub-folder per class")
    p.add_argument("--manifest", type=Path, help="take files and labels from a split manifest instead")
    p.add_argument("--split", default="val", help="with --manifest: which split (default val)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="with --manifest: the data root")
    p.add_argument("--version", help="a kept model version (default: the served one)")
    p.add_argument("--all-versions", action="store_true", help="every runnable version on the same images")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = p.parse_args(argv)
    if args.manifest:
        root, examples = args.data, [e for e in read_manifest(args.manifest) if e.split == args.split]
    elif args.dir:
        root, examples = args.dir, find_examples(args.dir)
    else:
        p.error("give a DIR or --manifest")
    if not examples:
        p.error(f"no images in class folders under {args.dir or args.data}")
    if args.all_versions:
        reports = compare_versions(root, examples)
        print(json.dumps(reports) if args.json else "\n\n".join(format_report(r) for r in reports.values()))
        return 0
    report = evaluate(root, examples, progress=not args.json, version=args.version)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
