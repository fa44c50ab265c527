from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from ml.infer import CLASSES, enlarge_cam, get_classifier
from ml.preprocess import load_image


def test_the_classifier_is_loaded_once_per_process(classifier):
    assert get_classifier() is classifier
    assert classifier.version == classifier.card["version"]
    #  Named by its version (a stored prediction's), the served model is the same instance.
    assert get_classifier(classifier.version) is classifier


def test_each_result_has_label_calibrated_confidence_and_four_probabilities(classifier, mri_files):
    results = classifier.classify([load_image(f) for f in mri_files])
    assert len(results) == len(mri_files)
    for r in results:
        assert r.label in CLASSES
        assert set(r.probabilities) == set(CLASSES)
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert r.confidence == pytest.approx(max(r.probabilities.values()), abs=1e-4)
        assert r.model_version == classifier.version
        assert r.ms > 0


def test_a_batch_gives_the_same_answers_as_single_calls(classifier, mri_files):
    images = [load_image(f) for f in mri_files]
    batched = classifier.classify(images)
    for img, b in zip(images, batched):
        (single,) = classifier.classify([img])
        assert single.label == b.label
        for c in CLASSES:
            assert single.probabilities[c] == pytest.approx(b.probabilities[c], abs=2e-3)


def test_concurrent_callers_get_their_own_answers(classifier, mri_files):
    images = [load_image(f) for f in mri_files]
    expected = [r.label for r in classifier.classify(images)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda img: classifier.classify([img])[0].label, images * 3))
    assert got == expected * 3


def test_the_heat_map_has_the_image_size_and_is_not_constant(classifier, mri_files):
    img = load_image(mri_files[0]).crop((0, 0, 200, 150))  # non-square on purpose
    (r,) = classifier.classify([img], heatmaps=True)
    assert r.heatmap.shape == (150, 200)
    assert r.heatmap.dtype == np.float32
    assert 0.0 <= r.heatmap.min() and r.heatmap.max() <= 1.0
    assert r.heatmap.std() > 0.01


def test_heat_maps_are_only_computed_on_request(classifier, mri_files):
    (r,) = classifier.classify([load_image(mri_files[0])])
    assert r.heatmap is None and r.cam is None


def test_the_cells_alone_draw_the_same_map(classifier, mri_files):
    img = load_image(mri_files[1]).crop((0, 0, 220, 160))
    (drawn,) = classifier.classify([img], heatmaps=True)
    (kept,) = classifier.classify([img], cams=True)
    assert kept.heatmap is None and kept.cam.shape == (10, 10) and "cam" not in kept.to_dict()
    assert np.abs(enlarge_cam(kept.cam, classifier.input_size, (220, 160)) - drawn.heatmap).max() < 1e-5


def test_unreadable_files_are_reported_in_place(classifier, mri_files, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all")
    out = classifier.classify_files([str(mri_files[0]), str(bad), str(mri_files[1])])
    assert out[0].label in CLASSES and out[2].label in CLASSES
    assert isinstance(out[1], Exception)


def test_an_empty_list_gives_no_results(classifier):
    assert classifier.classify([]) == []


def test_the_web_path_needs_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from ml.infer import get_classifier; from PIL import Image; "
            "get_classifier().classify([Image.new('L', (128, 128))]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tiny_and_huge_inputs_are_handled(classifier):
    rng = np.random.default_rng(3)
    small = Image.fromarray(rng.integers(0, 255, (70, 90), np.uint8), "L")
    big = Image.fromarray(rng.integers(0, 255, (2000, 1500), np.uint8), "L")
    assert len(classifier.classify([small, big])) == 2
