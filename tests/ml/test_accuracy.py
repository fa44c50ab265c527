"""The committed model, measured again on the committed validation split."""

import pytest

from ml.data import CLASSES
from ml.evaluate import evaluate


@pytest.fixture(scope="module")
def validation_report(data_root, manifest):
    return evaluate(data_root, [e for e in manifest if e.split == "val"])


def test_it_reproduces_the_model_cards_figures(validation_report, classifier):
    card = classifier.card["metrics"]
    assert validation_report["n"] == sum(card["per_class"][c]["support"] for c in CLASSES)
    assert validation_report["unreadable"] == 0
    assert validation_report["accuracy"] == pytest.approx(card["accuracy"], abs=1e-3)
    assert validation_report["macro_f1"] == pytest.approx(card["macro_f1"], abs=1e-3)
    assert validation_report["confusion"] == card["confusion"]


def test_it_keeps_its_measured_accuracy_on_validation(validation_report):
    #  Floors just under model 1.0.0's figures (92.8%, F1 0.927, meningioma recall 0.845), so a
    #  worse model cannot land. The bar (93%, every recall >= 0.88) is not reached yet:
    #  see the model card; raise these floors with the next model, never lower them.
    assert validation_report["accuracy"] >= 0.92
    assert validation_report["macro_f1"] >= 0.92
    assert min(validation_report["recall"].values()) >= 0.84


def test_its_confidences_are_calibrated_on_validation(validation_report):
    assert validation_report["ece"] <= 0.03
