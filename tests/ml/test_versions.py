"""Every model version that served keeps its card; earlier ones can still be loaded and run."""

import json
import shutil

import pytest

from ml import versions
from ml.infer import CLASSES, Classifier, get_classifier
from ml.preprocess import load_image

FIRST_CARDED = "neurolens-cnn-1.1.0"


def test_every_card_loads_and_the_served_one_is_recorded():
    served = versions.served_version()
    listed = versions.versions()
    assert FIRST_CARDED in listed and served in listed
    assert listed.index(FIRST_CARDED) <= listed.index(served)
    recorded = json.loads((versions.cards_dir() / f"{served}.json").read_text())
    assert recorded == versions.load_card()
    for card in versions.all_cards():
        assert set(card["metrics"]["per_class"]) == set(CLASSES)
        assert card["served"] == (card["version"] == served)
        assert (versions.cards_dir() / f"{card['version']}.md").exists()


def test_an_unknown_version_is_refused_by_name():
    with pytest.raises(KeyError, match="neurolens-cnn-0.0.1"):
        versions.load_card("neurolens-cnn-0.0.1")
    with pytest.raises(KeyError, match="neurolens-cnn-0.0.1"):
        get_classifier("neurolens-cnn-0.0.1")


def test_every_runnable_version_classifies_under_its_own_name(mri_files):
    images = [load_image(f) for f in mri_files[:4]]
    runnable = [c["version"] for c in versions.all_cards() if c["runnable"]]
    assert versions.served_version() in runnable
    for version in runnable:
        clf = get_classifier(version)
        assert clf.version == version
        results = clf.classify(images)
        assert {r.model_version for r in results} == {version}
        assert all(r.label in CLASSES for r in results)


def test_shipping_a_folder_archives_the_served_version(tmp_path):
    """On a copy of ml/model: the new folder serves, the old one moves to the archive with its card."""
    model_dir = tmp_path / "model"
    shutil.copytree(versions.MODEL_DIR, model_dir)
    old = versions.served_version(model_dir)
    new_folder = tmp_path / "candidate"
    new_folder.mkdir()
    for name in ("neurolens.tflite", "head.npz", "guard.npz", "scope.npz", "MODEL_CARD.md"):
        if (model_dir / name).exists():
            shutil.copy2(model_dir / name, new_folder / name)
    card = json.loads((model_dir / "card.json").read_text()) | {"version": "neurolens-cnn-99.0.0"}
    (new_folder / "card.json").write_text(json.dumps(card))

    assert versions.ship(new_folder, model_dir) == "neurolens-cnn-99.0.0"
    assert versions.served_version(model_dir) == "neurolens-cnn-99.0.0"
    assert versions.artefacts_dir(old, model_dir) == versions.archive_dir(model_dir) / old
    assert {old, "neurolens-cnn-99.0.0"} <= set(versions.versions(model_dir))
    assert Classifier(versions.archive_dir(model_dir) / old).version == old
    with pytest.raises(ValueError, match="already"):
        versions.ship(new_folder, model_dir)


def test_every_card_holds_figures_on_the_one_shared_split_that_ml_compare_reproduces(data_root):
    """ml.compare's recorded figures are what the versions give now, on the same validation images
    (a fifth of them here, to keep the test short: the card's figures must then be close, not equal)."""
    from ml.compare import MANIFEST, manifest_digest
    from ml.data import read_manifest
    from ml.evaluate import evaluate

    cards = versions.all_cards()
    #  Every card, a newly served one too, measured on the present split: after shipping a model or
    #  changing ml/splits/manifest.csv, run `python -m ml.compare --record`.
    assert {c.get("comparison", {}).get("manifest_sha256") for c in cards} == {manifest_digest()}
    examples = [e for e in read_manifest(MANIFEST) if e.split == "val"]
    assert all(c["comparison"]["images"] == len(examples) for c in cards)
    oldest = cards[0]
    r = evaluate(data_root, examples[::5], version=oldest["version"])
    assert abs(r["accuracy"] - oldest["comparison"]["accuracy"]) < 0.03


def test_the_comparison_section_replaces_itself_in_a_markdown_card():
    from ml.card import comparison_markdown
    from ml.compare import splice_section

    card = {"comparison": {"split": "val split", "images": 10, "measured": "2026-11-30", "accuracy": 0.9,
                           "recall": dict.fromkeys(CLASSES, 0.9), "ece_in_scope": 0.02, "val_slices_flagged": 0.01}}
    text = "# Card\n\n## Speed\nfast\n\n## Known limits\n- some\n"
    once = splice_section(text, comparison_markdown(card))
    assert once.index("## Versions side by side") < once.index("## Known limits") and "fast" in once
    card["comparison"]["accuracy"] = 0.95
    twice = splice_section(once, comparison_markdown(card))
    assert twice.count("## Versions side by side") == 1 and "accuracy 95.0%" in twice and "accuracy 90.0%" not in twice
    assert twice.replace("95.0%", "90.0%") == once
    card["comparison"]["by_group"] = {"groups": 4, "accuracy": 0.875, "accuracy_interval": [0.75, 1.0],
                                      "recall": dict.fromkeys(CLASSES, 0.75)}
    grouped = " ".join(comparison_markdown(card).split())
    assert "each near-duplicate group once (4 groups" in grouped
    assert "accuracy 87.5% (95% interval over groups 75.0% to 100.0%); recall glioma 75.0%" in grouped


def test_the_served_card_says_whether_its_network_ever_saw_the_collections_ct():
    """Known limits must not claim the network learned CT as classes when it was trained without
    them, nor the reverse."""
    card = json.loads((versions.MODEL_DIR / "card.json").read_text())
    text = " ".join((versions.MODEL_DIR / "MODEL_CARD.md").read_text().split())
    if "collection_ct" not in card["out_of_scope"]:
        pytest.skip(f"{card['version']}'s guard predates the list of CT slices")
    trained_without = bool(card["training"].get("not_mri_left_out"))
    assert ("never saw a CT slice under a class label" in text) is trained_without
    assert ("learned them as classes" in text) is not trained_without
