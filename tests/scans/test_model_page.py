import pytest
from django.urls import reverse

from ml.infer import DISPLAY_NAMES, get_classifier
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def test_it_shows_the_cards_version_metrics_and_confusion_matrix(researcher):
    card = get_classifier().card
    html = client_for(researcher).get(reverse("model-card")).content.decode()
    assert card["version"] in html and 'data-testid="confusion"' in html
    assert all(name in html for name in DISPLAY_NAMES.values())
    first_row = card["metrics"]["confusion"][0]
    assert "".join(f"<td>{v}</td>" for v in first_row) in html
    assert f"{card['metrics']['accuracy'] * 100:.1f}%" in html
    assert "Training data" in html


def test_it_labels_the_cards_figures_in_words_with_units(researcher):
    from scans.modelcard import card_context

    card = card_context({"training": {"lr": 0.002, "seconds": 4809, "precision": "float32"},
                         "calibration": {"ece_cross_fitted": 0.0262, "ece_cross_fitted_range": [0.0129, 0.0399]},
                         "out_of_scope": {"non_mri_flagged": 1, "non_mri_images": 68, "non_mri_missed": []},
                         "metrics": {"per_class": {"glioma": {"f1": 0.9433, "support": 341}}}})
    assert card["training"] == [("Peak learning rate", "0.002"), ("Training time", "1 h 20 min"),
                                ("Arithmetic", "float32")]
    assert card["calibration"] == [("Calibration error, cross-fitted", "2.6%"),
                                   ("Calibration error, cross-fitted, range", "1.3% to 4.0%")]
    assert card["scope"] == [("Non-MRI test images flagged as out of scope", "100.0%"),
                             ("Non-MRI test images", "68"), ("Non-MRI test images missed", "none")]
    assert card["class_columns"] == ["F1", "Images"] and card["class_rows"][0][1] == ["94.3%", "341"]
    html = client_for(researcher).get(reverse("model-card")).content.decode()
    assert "Lr<" not in html and "Ece" not in html and "Peak learning rate" in html


def test_it_says_which_epochs_weights_are_served(researcher):
    from scans.modelcard import card_context

    card = {"training": {"epochs_run": 82, "best_epoch": 67, "weights": "last"}}
    rows = dict(card_context(card)["training"])
    assert rows["Weights served"] == "the last epoch's (82), not those of the best validation epoch (67)"
    assert "Best epoch" not in rows  # a lone "best epoch 67" beside served last weights misleads
    best = dict(card_context({"training": {"epochs_run": 82, "best_epoch": 67, "weights": "best"}})["training"])
    assert best["Best epoch"] == "67" and best["Weights served"] == "best"
    html = client_for(researcher).get(reverse("model-card")).content.decode()
    served = get_classifier().card["training"]
    assert (dict(card_context({"training": served})["training"])["Weights served"] in html.replace("&#x27;", "'"))
