"""Personas shared by every test.

owner and colleague are clinicians (they upload; each sees only their own scans), reviewer sees
every scan, researcher has no access to single scans, outsider has no role at all, staff is an
administrator.
"""

import pytest

from tests.helpers import make_user


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path):
    """Each test gets its own MEDIA_ROOT, so 'nothing left behind' can be checked exactly."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    #  A batch finishes inside its upload request; tests/batches/test_background.py covers the thread.
    settings.BATCH_BACKGROUND = False


@pytest.fixture
def owner(db):
    return make_user("owner", "clinician")


@pytest.fixture
def colleague(db):
    return make_user("colleague", "clinician")


@pytest.fixture
def reviewer(db):
    return make_user("reviewer", "reviewer")


@pytest.fixture
def researcher(db):
    return make_user("researcher", "researcher")


@pytest.fixture
def outsider(db):
    return make_user("outsider")


@pytest.fixture
def staff(db):
    return make_user("staff", is_staff=True, is_superuser=True)
