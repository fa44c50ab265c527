"""With a broker, a series goes to real `celery worker` processes: the slices on the batch task,
then finish_series, which waits (retrying) until the batch is settled and then makes the result."""

from __future__ import annotations

import pytest

from scans.models import Series
from tests.api.conftest import token_client
from tests.batches.test_worker import broker, start_worker, stop, wait_for  # noqa: F401 - broker is a fixture
from tests.studies.series import mr_series, stow

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_series_is_classified_and_finished_by_a_worker(broker, settings, owner):  # noqa: F811
    response = stow(token_client(owner), mr_series("meningioma", 20))
    assert response.status_code == 200
    series = Series.objects.get()
    assert series.status == Series.QUEUED  # queued to Redis: nothing ran in this process
    worker = start_worker(settings)
    try:
        #  The result first, then the SR and key image (sr_uid is saved with them).
        wait_for(lambda: Series.objects.exclude(sr_uid="").exists() or Series.objects.get().status == Series.FAILED)
    finally:
        stop(worker)
    series.refresh_from_db()
    assert series.status == Series.DONE and series.slices.exclude(scan=None).count() == 20
    assert sum(series.result["counts"].values()) + series.result["out_of_scope"] == 20 and series.sr
