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
