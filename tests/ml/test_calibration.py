import numpy as np
import pytest

from ml.metrics import classification_report, expected_calibration_error, fit_temperature, softmax


def test_temperature_fitting_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.0, (4000, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(true_logits)])
    assert fit_temperature(true_logits * 2.5, labels) == pytest.approx(2.5, rel=0.1)


def test_ece_of_a_hand_worked_example():
    probs = np.array([[0.9, 0.1, 0, 0], [0.9, 0.1, 0, 0], [0.6, 0.4, 0, 0], [0.6, 0.4, 0, 0]])
    y = np.array([0, 1, 0, 0])
    #  bin (0.867, 0.933]: conf 0.9, accuracy 0.5 -> 0.4 gap x half; bin (0.533, 0.6]: 0.6 vs 1.0 -> 0.4 x half
    assert expected_calibration_error(probs, y) == pytest.approx(0.4)


def test_report_figures_on_a_hand_worked_example():
    r = classification_report(np.array([0, 0, 1, 1, 2, 3]), np.array([0, 1, 1, 1, 2, 2]))
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["recall"]["glioma"] == 0.5 and r["precision"]["meningioma"] == pytest.approx(2 / 3, abs=1e-4)
    assert r["confusion"][3] == [0, 0, 1, 0]


def test_the_served_confidences_are_calibrated(classifier):
    cal = classifier.card["calibration"]
    assert cal["ece"] <= 0.03
    assert cal["ece_cross_fitted"] <= 0.03
    assert cal["ece"] < cal["ece_uncalibrated"] or cal["ece_uncalibrated"] <= 0.03


def test_figures_by_group_give_each_near_duplicate_group_one_vote():
    """Three copies of one glioma slice, all wrong, and one other glioma slice right: per image 1 of 4
    is right, per group 1 of 2; a meningioma group of two copies, one right and one wrong, is half right."""
    from ml.metrics import by_group, group_weights

    y_true = np.array([0, 0, 0, 0, 1, 1])
    y_pred = np.array([1, 1, 1, 0, 1, 2])
    groups = np.array([7, 7, 7, 3, 9, 9])
    assert group_weights(groups).tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1, 0.5, 0.5])
    g = by_group(y_true, y_pred, groups)
    assert g["groups"] == 3
    assert g["recall"]["glioma"] == pytest.approx(0.5) and g["recall"]["meningioma"] == pytest.approx(0.5)
    assert g["accuracy"] == pytest.approx((1 + 0.5) / 3)
    assert classification_report(y_true, y_pred)["accuracy"] == pytest.approx(2 / 6)


def test_the_by_group_interval_holds_the_accuracy_and_is_reproducible():
    from ml.metrics import by_group, group_interval

    rng = np.random.default_rng(3)
    groups = rng.integers(0, 300, 900)  # 300 groups of about three copies
    correct = (rng.random(300) < 0.9)[groups]  # a group's copies are all right or all wrong
    y_true = np.zeros(900, int)
    g = by_group(y_true, np.where(correct, 0, 1), groups)
    lo, hi = g["accuracy_interval"]
    assert lo < g["accuracy"] < hi and 0.02 < hi - lo < 0.10  # about +-1.96 x sqrt(0.9 x 0.1 / 300)
    assert group_interval(correct, groups) == [lo, hi]
    assert group_interval(np.ones(900, bool), groups) == [1.0, 1.0]
