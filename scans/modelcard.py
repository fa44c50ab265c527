"""Turns the model card (ml/model/card.json) into rows a template can show without guessing."""

from __future__ import annotations

from ml.infer import CLASSES, DISPLAY_NAMES

#  How each field of the card reads on the page: a label a person understands, and its unit.
PCT, PCT_RANGE, PCT_MAP, COUNT, SECONDS, YES_NO, TEXT = (
    "pct", "pct-range", "pct-map", "count", "seconds", "yes-no", "text")
FIELDS = {
    #  metrics
    "split": ("Split", TEXT), "accuracy": ("Accuracy", PCT),
    "macro_precision": ("Precision, mean of the four classes", PCT),
    "macro_recall": ("Recall (sensitivity), mean of the four classes", PCT),
    "macro_f1": ("F1, mean of the four classes", PCT),
    "keras_accuracy": ("Accuracy of the model before conversion to LiteRT", PCT),
    "expected calibration error": ("Expected calibration error", PCT),
    "wrong": ("Wrong answers", COUNT), "wrong_above_0_9": ("Wrong answers with confidence above 90%", COUNT),
    "f1": ("F1", PCT), "precision": ("Precision", PCT), "recall": ("Recall", PCT), "support": ("Images", COUNT),
    #  model
    "parameters": ("Parameters", COUNT), "file sha256": ("File SHA-256", TEXT),
    #  data
    "images": ("Images", COUNT), "train_images": ("Training images", COUNT),
    "val_images": ("Validation images", COUNT), "groups": ("Near-duplicate groups", COUNT),
    "train_groups": ("Training groups", COUNT), "val_groups": ("Validation groups", COUNT),
    "val_support": ("Validation images per class", TEXT),
    #  training
    "resumed_from": ("Resumed from", TEXT), "epochs_run": ("Epochs", COUNT), "best_epoch": ("Best epoch", COUNT),
    "seconds": ("Training time", SECONDS), "batch": ("Batch size (images)", COUNT),
    "steps_per_epoch": ("Steps per epoch", COUNT), "lr": ("Peak learning rate", TEXT),
    "seed": ("Random seed", TEXT), "label_smoothing": ("Label smoothing", TEXT),
    "weights": ("Weights served", TEXT), "arithmetic": ("Arithmetic", TEXT),
    "batch_norm_recalibrated": ("Batch-norm statistics recalibrated", YES_NO),
    "val_accuracy_before_recalibration": ("Validation accuracy before recalibration", PCT),
    #  calibration
    "temperature": ("Temperature", TEXT), "ece_uncalibrated": ("Calibration error before scaling", PCT),
    "ece_cross_fitted": ("Calibration error, cross-fitted", PCT),
    "ece_cross_fitted_range": ("Calibration error, cross-fitted, range", PCT_RANGE),
    "ece": ("Calibration error after scaling", PCT), "bins": ("Bins", COUNT),
    #  out of scope
    "val_slices_flagged": ("Validation slices flagged as out of scope", PCT),
    "non_mri_flagged": ("Non-MRI test images flagged as out of scope", PCT),
    "non_mri_images": ("Non-MRI test images", COUNT), "non_mri_missed": ("Non-MRI test images missed", TEXT),
    "distance_cutoff": ("Feature-distance cut-off", TEXT), "threshold": ("Guard threshold", TEXT),
    "val_slices_flagged_by_collection": ("Validation slices flagged, per collection", PCT_MAP),
    "leave_one_source_out_flagged": ("Leave-one-source-out: flagged", PCT),
    "leave_one_source_out_mean_of_sources": ("Leave-one-source-out: flagged, mean over sources", PCT),
    "fresh_draw_flagged": ("Fresh draw: flagged, per kind", PCT_MAP),
    "negative_images": ("Non-MRI pictures (guard fitting)", COUNT),
    "positive_images": ("MRI slices (guard fitting)", COUNT), "inputs_key": ("Input features key", TEXT),
    "hidden": ("Hidden units", COUNT), "l2": ("L2 weight decay", TEXT),
}


def _percent(value) -> str:
    return f"{float(value) * 100:.1f}%"


def _shown(key: str, value) -> tuple[str, str]:
    label, kind = FIELDS.get(key, (str(key).replace("_", " ").capitalize(), TEXT))
    if value is None or value == "" or value == []:
        return label, "none" if key.endswith("missed") else "—"
    try:
        if kind == PCT:
            return label, _percent(value)
        if kind == PCT_MAP:
            return label, "; ".join(f"{k}: {_percent(v)}" for k, v in value.items())
        if kind == PCT_RANGE:
            return label, " to ".join(_percent(v) for v in value)
        if kind == COUNT:
            return label, f"{int(value):,}"
        if kind == SECONDS:
            hours, minutes = divmod(round(float(value) / 60), 60)
            return label, f"{hours} h {minutes} min" if hours else f"{minutes} min"
        if kind == YES_NO:
            return label, "yes" if value else "no"
    except (TypeError, ValueError, AttributeError):
        pass
    return label, _scalar(value)


def _scalar(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_scalar(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_scalar(v)}" for k, v in value.items())
    return str(value)


def summary_rows(section) -> list[tuple[str, str]]:
    if isinstance(section, dict):
        return [_shown(str(k), v) for k, v in section.items()]
    return [("", _scalar(section))] if section else []


def card_context(card: dict) -> dict:
    metrics = card.get("metrics") or {}
    per_class = metrics.get("per_class") or {}
    columns = sorted({k for row in per_class.values() if isinstance(row, dict) for k in row})
    class_rows = [
        (DISPLAY_NAMES.get(c, c), [_shown(k, per_class[c].get(k, ""))[1] for k in columns])
        for c in CLASSES if isinstance(per_class.get(c), dict)
    ]
    confusion = metrics.get("confusion") or []
    confusion_rows = [
        (DISPLAY_NAMES[c], row) for c, row in zip(CLASSES, confusion) if isinstance(row, (list, tuple))
    ]
    headline = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}
    calibration = card.get("calibration") or {}
    if "ece" in calibration:
        headline["expected calibration error"] = calibration["ece"]
    model = {"architecture": card.get("architecture"), "parameters": card.get("parameters"),
             "input": card.get("input"), "created": card.get("created"), "file sha256": card.get("sha256")}
    training = dict(card.get("training") or {})
    if isinstance(training.get("precision"), str):  # float32 or bfloat16, not the metric of that name
        training["arithmetic"] = training.pop("precision")
    if training.get("weights") == "last":  # say which weights are served, not just the best epoch's number
        training["weights"] = (f"the last epoch's ({training.get('epochs_run')}), not those of the best "
                               f"validation epoch ({training.pop('best_epoch', '?')})")
    return {
        "architecture": summary_rows({k: v for k, v in model.items() if v}),
        "data": summary_rows(card.get("data")),
        "training": summary_rows(training),
        "headline": summary_rows(headline),
        "class_columns": [_shown(c, None)[0] for c in columns],
        "class_rows": class_rows,
        "confusion_rows": confusion_rows,
        "class_names": [DISPLAY_NAMES[c] for c in CLASSES],
        "scope": summary_rows(card.get("out_of_scope")),
        "calibration": summary_rows(calibration),
        "intended_use": card.get("intended_use", ""),
    }
