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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the prediction's INSERT goes with the COMMIT on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_prediction_the_database_refuses_at_commit_leaves_no_row_and_no_file(owner, settings):
    """The prediction and audit INSERTs reach PostgreSQL with the COMMIT (lib.rows.pipelined): a
    failure there, raised by the database itself (a trigger that refuses every prediction, as a full
    disk would), must still undo the scan's row and remove its file, and the next upload works."""
    from audit.models import AuditEvent
    from tests.api.conftest import token_client

    refuse = ("CREATE FUNCTION nl_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
              "$$ BEGIN RAISE EXCEPTION 'no space left' USING ERRCODE = 'disk_full'; END $$")
    with connection.cursor() as cursor:
        cursor.execute(refuse)
        cursor.execute("CREATE TRIGGER nl_test_refuse AFTER INSERT ON scans_prediction "
                       "FOR EACH STATEMENT EXECUTE FUNCTION nl_test_refuse()")
    client = token_client(owner)
    try:
        response = client.post("/api/v1/scans", {"image": _file(png(seed=1))})
        assert response.status_code == 503 and response.json()["error"]["code"] == "database_unavailable"
        with pytest.raises(DatabaseError, match="no space left"):
            upload(client_for(owner), png(seed=2))
        assert not Scan.objects.exists() and not Prediction.objects.exists() and stored_files(settings) == []
        assert not AuditEvent.objects.filter(action=AuditEvent.UPLOADED).exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER nl_test_refuse ON scans_prediction")
            cursor.execute("DROP FUNCTION nl_test_refuse()")
    response = client.post("/api/v1/scans", {"image": _file(png(seed=1))})
    assert response.status_code == 201 and Scan.objects.count() == 1 == len(stored_files(settings))
    assert Prediction.objects.get().pk == response.json()["prediction"]["id"]


def _file(data: bytes):
    from django.core.files.base import ContentFile

    return ContentFile(data, name="slice.png")
