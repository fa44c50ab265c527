"""lib.postgresql: the connection health check asks PostgreSQL only when the socket has something to
say, and a connection the server has closed is still found and replaced before a request uses it."""

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the test ends the app's connection from outside
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a PostgreSQL server that can end the connection"),
]


def _other_session():
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"] or None,
                           dbname=s["NAME"], autocommit=True)


def test_a_quiet_connection_is_usable_without_a_round_trip():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with _other_session() as other:
        before = other.execute("SELECT state_change FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]
        assert connection.is_usable()
        after = other.execute("SELECT state_change FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]
    assert after == before  # the backend was not asked anything


def test_a_connection_the_server_ended_is_replaced_before_the_next_request_uses_it(settings):
    settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    connection.settings_dict["CONN_HEALTH_CHECKS"] = True
    connection.ensure_connection()
    old = connection.connection.info.backend_pid
    with _other_session() as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [old]).fetchone()[0]
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:  # the server's goodbye reaches the socket
        time.sleep(0.01)
    assert not connection.is_usable()
    close_old_connections()  # what Django does as a request starts
    with connection.cursor() as cursor:  # the request's first query: the health check replaces the connection
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old
