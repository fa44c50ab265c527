"""Personas shared by every test.

owner and colleague are clinicians (they upload; each sees only their own scans), reviewer sees
every scan, researcher has no access to single scans, outsider has no role at all, staff is an
administrator.
"""

import pytest
from django.db import connection
from django.db.models.signals import post_migrate

from tests.helpers import make_user


def _rollups_of_no_rows(sender, using="default", **kwargs):
    """A transactional test ends with a flush, and on SQLite a flush is a DELETE per table: the rollups
    are emptied first (their names sort first), then the scans' deletes fire the triggers that take
    them off the rollups again, which leaves negative counts for the next test. The flush ends with
    post_migrate; the rollups are emptied once more there. PostgreSQL truncates: no trigger fires."""
    if connection.vendor != "sqlite" or sender.label != "analytics":  # sent once per app
        return
    from analytics.models import ROLLUPS

    for model in ROLLUPS.values():
        model.objects.using(using).all().delete()


post_migrate.connect(_rollups_of_no_rows, dispatch_uid="tests-rollups-after-flush")


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
