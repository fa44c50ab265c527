"""Turns the model card (ml/model/card.json) into rows a template can show without guessing, and every
version's card (ml.versions) into the side-by-side comparison of the model page."""

from __future__ import annotations

from dataclasses import dataclass, field

from ml.infer import CLASSES, DISPLAY_NAMES
from ml.versions import all_cards

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


#  --- every version side by side -------------------------------------------------------------------

@dataclass
class Comparison:
    versions: list[dict]  # {"version", "served", "runnable", "created"} oldest first
    rows: list[tuple[str, list[str]]] = field(default_factory=list)  # (figure, one cell per version)
    notes: list[str] = field(default_factory=list)


def _pct1(value) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def _held_out_negatives(card: dict) -> tuple[float | None, bool]:
    """(share of non-MRI pictures refused with their source held out, whether every source was held out
    because the version's rules were fitted on none of them)."""
    loso = (card.get("out_of_scope") or {}).get("leave_one_source_out_flagged")
    if loso is not None:
        return loso, False
    measured = (card.get("comparison") or {}).get("negatives_all_sources_held_out")
    return (measured["flagged"], True) if measured else (None, False)


def _speed(cards: list[dict]) -> tuple[dict[str, dict], dict[str, str]]:
    """version -> its ml.bench figures, and version -> the card whose run measured them; a later run
    (a newer card) replaces an earlier one, so the figures come from as few runs as possible."""
    figures, source = {}, {}
    for card in cards:
        for version, f in (card.get("speed_compared") or {}).items():
            figures[version], source[version] = f, card["version"]
    return figures, source


def version_comparison(cards: list[dict] | None = None) -> Comparison:
    """Every version that served, on the same validation images where its card carries ml.compare's
    figures (`comparison`); the figures of its own card otherwise, said so in a note."""
    cards = all_cards() if cards is None else cards
    comp = Comparison([{"version": c["version"], "served": c.get("served", False),
                        "runnable": c.get("runnable", False), "created": c.get("created", "")} for c in cards])
    same = [c.get("comparison") or {} for c in cards]
    splits = {f.get("split") for f in same if f}
    own = [c["version"] for c, f in zip(cards, same) if not f]
    if splits:
        images = ", ".join(f"{n:,}" for n in sorted({f["images"] for f in same if f}))
        comp.notes.append(f"Accuracy, recall, calibration and MRI slices refused: every version on the same "
                          f"images, the {', '.join(sorted(splits))} ({images} images), by python -m ml.compare.")
    if any(f.get("by_group") for f in same):
        comp.notes.append("Each near-duplicate group counted once: many slices have several copies in the collections; "
                          "here a slice's copies share one vote, as on a test set that keeps one image per group.")
    if own:
        comp.notes.append(f"{', '.join(own)}: not yet measured on the shared split; the figures shown are its own "
                          f"card's, on the split it was validated on.")

    def figure(c: dict, f: dict, key: str):
        if f:
            return f.get(key)
        return (c.get("metrics") or {}).get(key)

    def recall(c: dict, f: dict, cls: str):
        if f:
            return f["recall"].get(cls)
        return ((c.get("metrics") or {}).get("per_class") or {}).get(cls, {}).get("recall")

    def ece(c: dict, f: dict):
        return f.get("ece_in_scope") if f else (c.get("calibration") or {}).get("ece")

    def flagged(c: dict, f: dict):
        return f.get("val_slices_flagged") if f else (c.get("out_of_scope") or {}).get("val_slices_flagged")

    pairs = list(zip(cards, same))
    comp.rows.append(("Network file (SHA-256, first 12 digits)", [(c.get("sha256") or "—")[:12] for c in cards]))
    comp.rows.append(("Accuracy", [_pct1(figure(c, f, "accuracy")) for c, f in pairs]))
    for cls in CLASSES:
        comp.rows.append((f"Recall: {DISPLAY_NAMES[cls]}", [_pct1(recall(c, f, cls)) for c, f in pairs]))
    grouped = [f.get("by_group") for f in same]  # only ml.compare's figures have them
    comp.rows.append(("Accuracy, each near-duplicate group counted once",
                      [_pct1(g["accuracy"] if g else None) for g in grouped]))
    comp.rows.append(("95% interval of that accuracy (bootstrap over groups)",
                      [" to ".join(_pct1(v) for v in g["accuracy_interval"]) if g and g.get("accuracy_interval")
                       else "—" for g in grouped]))
    comp.rows.append(("Lowest recall of a class, each group counted once",
                      [_pct1(min(g["recall"].values()) if g else None) for g in grouped]))
    comp.rows.append(("Expected calibration error (15 bins, images in scope)", [_pct1(ece(c, f)) for c, f in pairs]))
    comp.rows.append(("Validation MRI slices refused as out of scope", [_pct1(flagged(c, f)) for c, f in pairs]))
    held = [_held_out_negatives(c) for c in cards]
    comp.rows.append(("Non-MRI pictures refused, their source held out",
                      [_pct1(v) + (" *" if every else "") for v, every in held]))
    if any(every for _, every in held):
        comp.notes.append("* Hand-set rules fitted on none of the non-MRI sources: a fresh draw of every source "
                          "in ml.negatives, all held out (python -m ml.compare). Other versions: leave one source "
                          "out, from their cards.")
    speed, source = _speed(cards)
    units = [("Single image, median, decode included", "p50_ms", "{:.2f} ms"),
             ("Images per second, batches of 64", "images_per_s_batch_64", "{:.0f} images/s"),
             ("Cold start, new process to first result", "cold_start_s", "{:.2f} s"),
             ("Peak resident memory", "peak_rss_mb", "{:.0f} MB")]
    for label, key, fmt in units:
        comp.rows.append((label, [fmt.format(speed[c["version"]][key]) if key in speed.get(c["version"], {})
                                  else "—" for c in cards]))
    runs = sorted(set(source.values()))
    if runs:
        loads = {f"{f.get('load_average'):.1f}" for f in speed.values() if f.get("load_average") is not None}
        comp.notes.append(f"Speed: python -m ml.bench on 2 CPU cores, the run recorded in the card of "
                          f"{', '.join(runs)}" + (f" (machine load average {', '.join(sorted(loads))}; above 2 other "
                                                  f"work shared the cores)" if loads else "") + ".")
    return comp
