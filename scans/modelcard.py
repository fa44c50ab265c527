"""Turns the model card (ml/model/card.json) into rows a template can show without guessing."""

from __future__ import annotations

from ml.infer import CLASSES, DISPLAY_NAMES


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
        return [(str(k).replace("_", " "), _scalar(v)) for k, v in section.items()]
    return [("", _scalar(section))] if section else []


def card_context(card: dict) -> dict:
    metrics = card.get("metrics") or {}
    per_class = metrics.get("per_class") or {}
    columns = sorted({k for row in per_class.values() if isinstance(row, dict) for k in row})
    class_rows = [
        (DISPLAY_NAMES.get(c, c), [_scalar(per_class[c].get(k, "")) for k in columns])
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
    if training.get("weights") == "last":  # say which weights are served, not just the best epoch's number
        training["weights"] = (f"the last epoch's ({training.get('epochs_run')}), not those of the best "
                               f"validation epoch ({training.pop('best_epoch', '?')})")
    return {
        "architecture": summary_rows({k: v for k, v in model.items() if v}),
        "data": summary_rows(card.get("data")),
        "training": summary_rows(training),
        "headline": summary_rows(headline),
        "class_columns": [c.replace("_", " ") for c in columns],
        "class_rows": class_rows,
        "confusion_rows": confusion_rows,
        "class_names": [DISPLAY_NAMES[c] for c in CLASSES],
        "scope": summary_rows(card.get("out_of_scope")),
        "calibration": summary_rows(calibration),
        "intended_use": card.get("intended_use", ""),
    }
