"""The series result, from its slices' predictions, by one documented rule.

The model was trained on single 2-D slices: it never saw a series, so this result is a summary of
per-slice results and is always shown beside them. The rule (README, "Series result"):

- Slices the scope check marks out of scope are excluded from every count and counted apart.
- A tumour class is the series label when at least max(MIN_SLICES, MIN_SHARE of the in-scope
  slices) in-scope slices are labelled with it at a confidence of CONFIDENT or more; if several
  classes qualify, the one with the most such slices (then the higher mean confidence).
- Otherwise the label is "no tumour" when any slice is in scope, and no label at all when none is.
- Key images: the KEY_IMAGES in-scope slices most suspicious for the label (its probability), or,
  for "no tumour", those with the highest probability of any tumour class.
"""

from __future__ import annotations

import math

from ml.infer import CLASSES, DISPLAY_NAMES

CONFIDENT = 0.80
MIN_SLICES = 3
MIN_SHARE = 0.10
KEY_IMAGES = 3
NO_TUMOUR = "notumor"
TUMOURS = [c for c in CLASSES if c != NO_TUMOUR]
RULE = (f"A tumour class is the series label when at least {MIN_SLICES} in-scope slices, and at least "
        f"{MIN_SHARE:.0%} of them, are labelled with it at {CONFIDENT:.0%} confidence or more; otherwise "
        f"no tumour. Out-of-scope slices are excluded and counted apart.")
SINGLE_SLICE = ("The model was trained on single 2-D slices, not on series: this series label summarises "
                "its per-slice results by the rule above; check the slice evidence.")


def series_result(slices: list[tuple[int, object]]) -> dict:
    """`slices`: (slice id, its Prediction) in series order. JSON-ready."""
    in_scope = [(sid, p) for sid, p in slices if not p.out_of_scope]
    counts = {c: sum(p.label == c for _, p in in_scope) for c in CLASSES}
    needed = max(MIN_SLICES, math.ceil(MIN_SHARE * len(in_scope)))
    qualifying = []
    for c in TUMOURS:
        sure = [p.confidence for _, p in in_scope if p.label == c and p.confidence >= CONFIDENT]
        if len(sure) >= needed:
            qualifying.append((len(sure), sum(sure) / len(sure), c))
    label = max(qualifying)[2] if qualifying else (NO_TUMOUR if in_scope else "")
    if label in TUMOURS:
        def score(p):
            return p.probabilities[label]
    else:
        def score(p):
            return max(p.probabilities[c] for c in TUMOURS)
    key = sorted(in_scope, key=lambda sp: score(sp[1]), reverse=True)[:KEY_IMAGES]
    mean = {c: round(sum(p.probabilities[c] for _, p in in_scope) / len(in_scope), 4) if in_scope else None
            for c in CLASSES}
    versions = sorted({p.model_version for _, p in slices})
    return {
        "label": label, "label_display": DISPLAY_NAMES.get(label, "No result: every slice is out of scope"),
        "slices": len(slices), "in_scope": len(in_scope), "out_of_scope": len(slices) - len(in_scope),
        "counts": counts, "confident_needed": needed, "mean_probabilities": mean,
        "key_slices": [sid for sid, _ in key], "key_scores": [round(score(p), 4) for _, p in key],
        "model_version": ", ".join(versions), "rule": RULE, "single_slice_note": SINGLE_SLICE,
    }
