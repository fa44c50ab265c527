"""The series label rule (scans.studies.result), on predictions as the model stores them."""

from __future__ import annotations

from ml.infer import CLASSES
from scans.models import Prediction
from scans.studies.result import series_result


def prediction(label: str, confidence: float, out_of_scope: bool = False) -> Prediction:
    rest = (1 - confidence) / (len(CLASSES) - 1)
    return Prediction(label=label, confidence=confidence, out_of_scope=out_of_scope, model_version="v",
                      **{f"prob_{c}": confidence if c == label else rest for c in CLASSES})


def slices(*preds) -> list:
    return list(enumerate(preds, start=1))


def test_three_confident_slices_of_a_tumour_class_label_the_series():
    result = series_result(slices(*[prediction("notumor", 0.95)] * 7, *[prediction("glioma", 0.9)] * 3))
    assert result["label"] == "glioma" and result["counts"]["glioma"] == 3
    assert result["key_slices"] == [8, 9, 10]


def test_too_few_or_unsure_tumour_slices_leave_the_series_without_a_tumour():
    two = series_result(slices(*[prediction("notumor", 0.95)] * 8, *[prediction("glioma", 0.99)] * 2))
    unsure = series_result(slices(*[prediction("notumor", 0.95)] * 7, *[prediction("glioma", 0.7)] * 3))
    assert two["label"] == unsure["label"] == "notumor"
    assert two["key_slices"][:2] == [9, 10]  # still the most suspicious slices, shown as evidence


def test_out_of_scope_slices_are_excluded_and_counted_apart():
    result = series_result(slices(*[prediction("glioma", 0.99, out_of_scope=True)] * 5, prediction("notumor", 0.9)))
    assert result["label"] == "notumor" and result["out_of_scope"] == 5 and result["in_scope"] == 1
    assert result["counts"]["glioma"] == 0 and result["key_slices"] == [6]
    nothing = series_result(slices(prediction("glioma", 0.99, out_of_scope=True)))
    assert nothing["label"] == "" and nothing["key_slices"] == [] and nothing["mean_probabilities"]["glioma"] is None


def test_a_share_of_the_in_scope_slices_is_needed_in_a_long_series():
    many = [prediction("notumor", 0.95)] * 97 + [prediction("pituitary", 0.9)] * 3
    assert series_result(slices(*many))["label"] == "notumor"  # 3 of 100 < 10%
    many = [prediction("notumor", 0.95)] * 90 + [prediction("pituitary", 0.9)] * 10
    assert series_result(slices(*many))["label"] == "pituitary"
