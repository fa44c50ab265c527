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
    assert f"{card['metrics']['accuracy']:.4g}" in html
    assert "Training data" in html


def test_it_says_which_epochs_weights_are_served(researcher):
    from scans.modelcard import card_context

    card = {"training": {"epochs_run": 82, "best_epoch": 67, "weights": "last"}}
    rows = dict(card_context(card)["training"])
    assert rows["weights"] == "the last epoch's (82), not those of the best validation epoch (67)"
    assert "best epoch" not in rows  # a lone "best epoch 67" beside served last weights misleads
    best = dict(card_context({"training": {"epochs_run": 82, "best_epoch": 67, "weights": "best"}})["training"])
    assert best["best epoch"] == "67" and best["weights"] == "best"
    html = client_for(researcher).get(reverse("model-card")).content.decode()
    served = get_classifier().card["training"]
    assert (dict(card_context({"training": served})["training"])["weights"] in html.replace("&#x27;", "'"))
