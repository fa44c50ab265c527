"""Classification and calibration figures, in plain NumPy."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ml.labels import CLASSES


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int = len(CLASSES)) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def group_weights(groups) -> np.ndarray:
    """Each image's share of its near-duplicate group among these images (1 / the group's copies here),
    so that a group counts once however many copies of it the collections hold."""
    _, inverse, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse]


def by_group(y_true, y_pred, groups) -> dict:
    """Accuracy and recall per class with each near-duplicate group counted once: its copies share
    one vote (an independent test set that keeps one image per group judges a model this way)."""
    y_true, y_pred, w = np.asarray(y_true), np.asarray(y_pred), group_weights(groups)
    right = (y_true == y_pred) * w
    recall = {c: float(right[y_true == k].sum() / w[y_true == k].sum()) if (y_true == k).any() else 0.0
              for k, c in enumerate(CLASSES)}
    scores = group_scores(y_true == y_pred, groups)
    return {"groups": len(scores), "accuracy": float(scores.mean()) if len(scores) else 0.0,
            "accuracy_interval": group_interval(y_true == y_pred, groups), "recall": recall}


def group_scores(correct, groups) -> np.ndarray:
    """Each group's share of its copies answered right (one value per group)."""
    _, inverse = np.unique(np.asarray(groups), return_inverse=True)
    return np.bincount(inverse, weights=np.asarray(correct, float)) / np.bincount(inverse)


def group_interval(correct, groups, draws: int = 2000, seed: int = 0) -> list[float]:
    """A 95% interval of the by-group accuracy: the groups drawn again with replacement `draws` times
    (a bootstrap over groups, seeded, so a card's figure is reproducible); each group's score is the
    share of its copies answered right."""
    per_group = group_scores(correct, groups)
    picks = np.random.default_rng(seed).integers(0, len(per_group), size=(draws, len(per_group)))
    lo, hi = np.percentile(per_group[picks].mean(axis=1), [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def classification_report(y_true, y_pred) -> dict:
    """Accuracy, per-class precision/recall/F1, their macro means and the confusion matrix."""
    cm = confusion_matrix(y_true, y_pred)
    tp = np.diag(cm).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / cm.sum(0))
        recall = np.nan_to_num(tp / cm.sum(1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return {
        "n": int(cm.sum()),
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "precision": dict(zip(CLASSES, precision.round(4).tolist())),
        "recall": dict(zip(CLASSES, recall.round(4).tolist())),
        "f1": dict(zip(CLASSES, f1.round(4).tolist())),
        "support": dict(zip(CLASSES, cm.sum(1).tolist())),
        "confusion": cm.tolist(),
    }


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width confidence bins (Guo et al., 2017)."""
    conf = probs.max(1)
    correct = probs.argmax(1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    return float(ece)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def fit_temperature(logits: np.ndarray, y_true: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood (golden-section search on log T)."""
    y = np.asarray(y_true)

    def nll(log_t: float) -> float:
        p = softmax(logits, float(np.exp(log_t)))
        return float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())

    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    for _ in range(80):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))
