"""Finding 8 of issue 12: the API answered a database outage with an undocumented 500. Now a 503
with code database_unavailable and Retry-After, documented on every operation."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import connection
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db(transaction=True)  # the test closes the connection itself


@contextmanager
def database_refusing():
    """The database refuses connections (its port closed) while the block runs."""
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = 1
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port


@pytest.mark.skipif(connection.vendor != "postgresql", reason="an outage needs a database server to stop")
def test_a_database_outage_is_a_503_with_retry_after(owner):
    client = token_client(owner)
    assert client.get(reverse("api:scans")).status_code == 200
    with database_refusing():
        response = client.get(reverse("api:scans"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert client.get(reverse("api:scans")).status_code == 200  # and back, without a restart


def test_every_operation_documents_the_503():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [op for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)]
    assert operations and all("503" in op["responses"] for op in operations if "responses" in op)
