"""The learned out-of-scope guard, through the served classifier."""

import json

import numpy as np
import pytest
from PIL import Image

from ml.data import not_mri, read_manifest
from ml.guard import COLOUR_FACT, N_MEASURES, Guard, colourfulness
from ml.negatives import SOURCES, make
from ml.preprocess import load_image
from ml.versions import MODEL_DIR

#  Validation-split slices (never seen by the guard, which learns from training slices) of
#  each plane and weighting, picked by eye from the committed split.
PLANES = {
    "axial T1 with contrast": ["brain-tumor-mri/Training/meningioma/Tr-me_1018.jpg",
                               "brain-tumor-classification/Training/pituitary_tumor/p (600).jpg",
                               "brain-tumor-classification/Training/meningioma_tumor/m1(58).jpg"],
    "axial T2": ["brain-tumor-mri/Training/notumor/Tr-no_0270.jpg", "brain-tumor-mri/Training/notumor/Tr-no_0801.jpg",
                 "brain-tumor-mri/Testing/notumor/Te-no_0375.jpg"],
    "axial FLAIR": ["brain-tumor-mri/Training/notumor/Tr-no_0665.jpg", "brain-tumor-mri/Testing/notumor/Te-no_0274.jpg",
                    "brain-tumor-mri/Training/notumor/Tr-no_0698.jpg"],
    "coronal T1 with contrast": ["brain-tumor-mri/Training/pituitary/Tr-pi_0815.jpg",
                                 "brain-tumor-classification/Training/pituitary_tumor/p (469).jpg",
                                 "brain-tumor-mri/Training/pituitary/Tr-pi_1172.jpg"],
    "sagittal T1": ["brain-tumor-classification/Training/meningioma_tumor/m2 (69).jpg",
                    "brain-tumor-mri/Training/pituitary/Tr-pi_0171.jpg", "brain-tumor-mri/Training/notumor/Tr-no_0130.jpg"],
    "sagittal T1 with contrast": ["brain-tumor-mri/Training/meningioma/Tr-me_0516.jpg",
                                  "brain-tumor-classification/Training/meningioma_tumor/m1(13).jpg",
                                  "brain-tumor-classification/Training/meningioma_tumor/m2 (66).jpg"],
}


def _requires_guard(classifier):
    if classifier.guard is None:
        pytest.skip(f"{classifier.version} predates the learned guard")


@pytest.mark.parametrize("plane", sorted(PLANES))
def test_mri_slices_of_every_plane_and_weighting_are_accepted(classifier, data_root, manifest, plane):
    _requires_guard(classifier)
    split = {e.path: e.split for e in manifest}
    assert all(split[p] == "val" for p in PLANES[plane])
    results = classifier.classify([load_image(data_root / p) for p in PLANES[plane]])
    assert [r.out_of_scope_reason for r in results] == [None] * len(results)


def test_the_coronal_slice_the_old_rules_refused_is_accepted(classifier, data_root):
    """The hand-set rules called Te-no_0025.jpg 'no dark background', which it has."""
    _requires_guard(classifier)
    (r,) = classifier.classify([load_image(data_root / "brain-tumor-mri/Testing/notumor/Te-no_0025.jpg")])
    assert not r.out_of_scope, r.out_of_scope_reason


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_kind_of_non_mri_picture_is_flagged(classifier, source):
    _requires_guard(classifier)
    images = make(source, n=16, seed=2024)  # a draw the guard was not fitted on
    if not images:
        pytest.skip(f"{source} needs a package that is not installed")
    results = classifier.classify(images)
    flagged = [r for r in results if r.out_of_scope]
    assert len(flagged) >= 0.9 * len(images), [r.label for r in results if not r.out_of_scope]
    for img, r in zip(images, results):
        if not r.out_of_scope:
            continue
        #  No class is claimed, and the reason says only what is true of this picture.
        assert all(v == 0.25 for v in r.probabilities.values())
        reason = r.out_of_scope_reason
        assert reason.startswith(("does not look like a brain MRI slice (guard score", "a blank, uniform picture"))
        assert ("colour picture" in reason) == (colourfulness(img) > COLOUR_FACT and "guard score" in reason)
        assert "dark background" not in reason


def test_validation_slices_are_rarely_flagged(classifier, data_root, manifest):
    _requires_guard(classifier)
    rng = np.random.default_rng(5)
    val = [e for e in manifest if e.split == "val"]
    picked = [val[i] for i in rng.choice(len(val), 300, replace=False)]
    results = classifier.classify([load_image(data_root / e.path) for e in picked])
    assert np.mean([r.out_of_scope for r in results]) <= 0.01


def test_the_brain_ct_filed_as_mri_is_listed_and_left_out_of_the_split(data_root):
    listed = not_mri()
    everything = {e.path for e in read_manifest(include_not_mri=True)}
    assert len(listed) >= 100 and set(listed.values()) == {"CT"}
    assert set(listed) <= everything and all((data_root / p).is_file() for p in listed)
    mri = {e.path for e in read_manifest()}
    assert not mri & set(listed) and mri | set(listed) == everything


def test_brain_ct_the_guard_was_not_fitted_on_is_refused_as_the_card_says(classifier, data_root):
    """The validation split's CT slices (the guard learned only the training split's) are refused,
    at the rate guard.json, and so the model card, states."""
    _requires_guard(classifier)
    report = json.loads((MODEL_DIR / "guard.json").read_text())
    if "collection_ct" not in report:
        pytest.skip(f"{classifier.version}'s guard predates the list of CT slices")
    listed = not_mri()
    val_ct = [e.path for e in read_manifest(include_not_mri=True) if e.path in listed and e.split == "val"]
    assert len(val_ct) == report["collection_ct"]["validation_split"] >= 20
    results = classifier.classify([load_image(data_root / p) for p in val_ct])
    refused = np.mean([r.out_of_scope for r in results])
    assert refused == pytest.approx(report["collection_ct"]["validation_split_flagged"], abs=0.005)
    assert refused >= 0.9, [p for p, r in zip(val_ct, results) if not r.out_of_scope]
    assert all(set(r.probabilities.values()) == {0.25} for r in results if r.out_of_scope)


def test_a_blank_picture_is_refused_by_the_plain_check():
    guard = Guard.load(MODEL_DIR / "guard.npz") if (MODEL_DIR / "guard.npz").exists() else None
    if guard is None:
        pytest.skip("the served model has no learned guard")
    pooled = np.zeros((1, guard.mean.shape[0] - N_MEASURES), np.float32)
    pixels = np.full((1, 160, 160), 90, np.uint8)
    assert guard.reasons(pooled, pixels, np.array([0.0])) == ["a blank, uniform picture"]


def test_colourfulness_is_zero_for_gray_and_large_for_colour():
    gray = Image.new("L", (50, 40), 120)
    assert colourfulness(gray) == 0.0
    assert colourfulness(gray.convert("RGB")) == 0.0
    assert colourfulness(Image.new("RGB", (50, 40), (200, 30, 30))) > COLOUR_FACT
