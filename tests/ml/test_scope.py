import numpy as np

from ml.infer import CLASSES
from ml.nonmri import generated, photographs
from ml.preprocess import load_image


def test_generated_non_mri_images_are_flagged_with_a_reason(classifier):
    images = generated(seed=42)
    results = classifier.classify([img for _, img in images])
    missed = [name for (name, _), r in zip(images, results) if not r.out_of_scope]
    assert len(missed) <= 0.05 * len(images), missed
    for r in results:
        if r.out_of_scope:
            assert r.out_of_scope_reason
            assert r.confidence <= 0.25 + 1e-6
            assert all(v == 0.25 for v in r.probabilities.values())


def test_natural_photographs_are_flagged(classifier):
    photos = photographs()
    assert photos, "scikit-image (a test requirement) ships these photographs"
    results = classifier.classify([img for _, img in photos])
    missed = [name for (name, _), r in zip(photos, results) if not r.out_of_scope]
    assert len(missed) <= 0.05 * len(photos), missed


def test_validation_mri_slices_are_rarely_flagged(classifier, data_root, manifest):
    rng = np.random.default_rng(11)
    val = [e for e in manifest if e.split == "val"]
    picked = [val[i] for i in rng.choice(len(val), 400, replace=False)]
    results = classifier.classify([load_image(data_root / e.path) for e in picked])
    assert np.mean([r.out_of_scope for r in results]) < 0.02
    assert {r.label for r in results} == set(CLASSES)
