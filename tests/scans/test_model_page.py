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
