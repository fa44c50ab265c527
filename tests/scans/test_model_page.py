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


def _cells(html: str, label: str) -> list[str]:
    """The cells of one row of the versions table, in column order."""
    table = html[html.index('data-testid="version-comparison"'):]
    row = table[table.index(f'<th scope="row" class="fw-normal">{label}</th>'):]
    row = row[:row.index("</tr>")]
    return [cell.split("</td>")[0] for cell in row.split('<td class="text-end">')[1:]]


def test_every_version_that_served_appears_side_by_side_with_its_figures(researcher):
    from ml.versions import all_cards

    cards = all_cards()
    assert len(cards) >= 3 and sum(c["served"] for c in cards) == 1
    html = client_for(researcher).get(reverse("model-card")).content.decode()
    for card in cards:
        assert f'data-version="{card["version"]}"' in html
    #  Every card carries ml.compare's figures on the one shared split: each cell is its card's figure.
    assert len({c["comparison"]["split"] for c in cards}) == 1
    assert _cells(html, "Accuracy") == [f"{c['comparison']['accuracy'] * 100:.1f}%" for c in cards]
    for cls, name in DISPLAY_NAMES.items():
        assert _cells(html, f"Recall: {name}") == [f"{c['comparison']['recall'][cls] * 100:.1f}%" for c in cards]
    assert _cells(html, "Accuracy, each near-duplicate group counted once") == [
        f"{c['comparison']['by_group']['accuracy'] * 100:.1f}%" for c in cards]
    assert _cells(html, "95% interval of that accuracy (bootstrap over groups)") == [
        " to ".join(f"{v * 100:.1f}%" for v in c["comparison"]["by_group"]["accuracy_interval"]) for c in cards]
    assert _cells(html, "Lowest recall of a class, each group counted once") == [
        f"{min(c['comparison']['by_group']['recall'].values()) * 100:.1f}%" for c in cards]
    assert _cells(html, "Expected calibration error (15 bins, images in scope)") == [
        f"{c['comparison']['ece_in_scope'] * 100:.1f}%" for c in cards]
    assert _cells(html, "Validation MRI slices refused as out of scope") == [
        f"{c['comparison']['val_slices_flagged'] * 100:.1f}%" for c in cards]
    refused = _cells(html, "Non-MRI pictures refused, their source held out")
    for card, cell in zip(cards, refused):
        loso = card["out_of_scope"].get("leave_one_source_out_flagged")
        held = card["comparison"].get("negatives_all_sources_held_out", {}).get("flagged")
        assert cell == (f"{loso * 100:.1f}%" if loso is not None else f"{held * 100:.1f}% *")
    served = next(c for c in cards if c["served"])
    speed = served["speed_compared"]
    assert _cells(html, "Single image, median, decode included") == [
        f"{speed[c['version']]['p50_ms']:.2f} ms" for c in cards]
    assert _cells(html, "Images per second, batches of 64") == [
        f"{speed[c['version']]['images_per_s_batch_64']} images/s" for c in cards]
    loads = sorted({f"{f['load_average']:.1f}" for f in speed.values()})
    assert f"machine load average {', '.join(loads)}" in html


def test_a_version_not_measured_on_the_shared_split_is_shown_with_its_own_cards_figures_and_said_so():
    from scans.modelcard import version_comparison

    own = {"version": "neurolens-cnn-0.9.0", "metrics": {"accuracy": 0.9012, "per_class": {}},
           "calibration": {"ece": 0.0312}, "out_of_scope": {"val_slices_flagged": 0.01}}
    shared = {"version": "neurolens-cnn-1.0.0", "served": True, "out_of_scope": {"leave_one_source_out_flagged": 0.95},
              "comparison": {"split": "val split", "images": 10, "accuracy": 0.95, "ece_in_scope": 0.02,
                             "val_slices_flagged": 0.001, "recall": dict.fromkeys(DISPLAY_NAMES, 0.9)},
              "speed_compared": {"neurolens-cnn-1.0.0": {"p50_ms": 2.5, "images_per_s_batch_64": 700,
                                                         "cold_start_s": 0.3, "peak_rss_mb": 120}}}
    comp = version_comparison([own, shared])
    rows = dict(comp.rows)
    assert rows["Accuracy"] == ["90.1%", "95.0%"]
    assert rows["Expected calibration error (15 bins, images in scope)"] == ["3.1%", "2.0%"]
    assert rows["Non-MRI pictures refused, their source held out"] == ["—", "95.0%"]
    assert rows["Single image, median, decode included"] == ["—", "2.50 ms"]
    assert any("neurolens-cnn-0.9.0: not yet measured on the shared split" in n for n in comp.notes)
