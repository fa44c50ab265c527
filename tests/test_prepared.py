"""lib.prepared: the statements every API call runs are planned once per connection on PostgreSQL,
still pass through Django's cursor (query capture, execute wrappers), and DATABASE_PREPARED_STATEMENTS=0
turns that off for connection poolers that cannot carry prepared statements."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def _prepared_token_lookups() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ['%FROM "api_apitoken" t%'])
        return cursor.fetchone()[0]


@postgresql_only
def test_the_token_lookup_is_prepared_once_and_still_seen_by_django(owner):
    client = token_client(owner)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get("/api/v1/scans").status_code == 200
    assert sum('FROM "api_apitoken" t' in q["sql"] for q in queries.captured_queries) == 3
    assert _prepared_token_lookups() == 1


@postgresql_only
def test_prepared_statements_can_be_turned_off(owner, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    client = token_client(owner)
    for _ in range(3):
        assert client.get("/api/v1/scans").status_code == 200
    assert _prepared_token_lookups() == 0


def test_a_wrong_key_is_refused_on_the_prepared_path_too(owner):
    client = token_client(owner)
    assert client.get("/api/v1/scans").status_code == 200
    client.defaults["HTTP_AUTHORIZATION"] = "Token " + "x" * 40
    assert client.get("/api/v1/scans").status_code == 401
