from pathlib import Path

import pytest

from ml.data import DEFAULT_DATA, read_manifest


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not DEFAULT_DATA.is_dir():
        pytest.skip(f"the training data folder {DEFAULT_DATA} is not on this machine")
    return DEFAULT_DATA


@pytest.fixture(scope="session")
def manifest():
    return read_manifest()


@pytest.fixture(scope="session")
def classifier():
    from ml.infer import get_classifier

    return get_classifier()


@pytest.fixture(scope="session")
def mri_files(data_root, manifest):
    """A dozen validation slices, three of each class, from both collections."""
    picked, seen = [], {}
    for ex in manifest:
        if ex.split == "val" and seen.get((ex.label, ex.path.split("/")[0]), 0) < 2:
            seen[(ex.label, ex.path.split("/")[0])] = seen.get((ex.label, ex.path.split("/")[0]), 0) + 1
            picked.append(data_root / ex.path)
    return picked
