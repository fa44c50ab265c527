"""When the model or the database fails part-way, no row and no file remain.

These two tests inject the fault (the only place the suite replaces real behaviour): a model
that crashes and a database write that fails cannot be provoked on demand otherwise.
"""

import pytest
from django.db import DatabaseError, connection

from ml.infer import Classifier
from scans.models import Prediction, Scan
from tests.helpers import client_for, png, stored_files, upload

pytestmark = pytest.mark.django_db


def test_a_model_failure_stores_nothing_and_says_so(owner, settings, monkeypatch):
    def crash(self, images, heatmaps=False):
        raise RuntimeError("interpreter failed")

    monkeypatch.setattr(Classifier, "classify", crash)
    response = upload(client_for(owner), png())
    assert response.status_code == 503
    assert "could not analyse this image" in response.content.decode()
    assert not Scan.objects.exists() and stored_files(settings) == []


def test_a_failed_database_write_removes_the_stored_file(owner, settings):
    def fail(execute, sql, params, many, context):
        if sql.startswith("INSERT INTO") and Prediction._meta.db_table in sql.split("(")[0]:
            raise DatabaseError("disk full")  # the prediction's INSERT, however it is built
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail), pytest.raises(DatabaseError):
        upload(client_for(owner), png())
    assert not Scan.objects.exists() and stored_files(settings) == []
