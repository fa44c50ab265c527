"""Two uploads of the same file at the same moment still make one scan."""

import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection, connections

from scans.models import Scan
from scans.services import submit_scan
from tests.helpers import png, stored_files


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers; the race needs PostgreSQL")
def test_simultaneous_duplicates_end_as_one_scan_and_one_file(owner, settings):
    data, barrier, results = png(240, seed=77), threading.Barrier(4), []

    def submit():
        try:
            barrier.wait()
            results.append(submit_scan(owner, ContentFile(data, name="same.png")))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert Scan.objects.count() == 1 and len(stored_files(settings)) == 1
    assert {r.scan.pk for r in results} == {Scan.objects.get().pk}
    assert sum(r.created for r in results) == 1
