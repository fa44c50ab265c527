import pytest
from django.core.cache import cache
from django.test import Client

from api.tokens import create_token


@pytest.fixture(autouse=True)
def _fresh_throttles(request):
    """Throttle counts live in the cache (a database table); each test that uses the database starts from none."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker or {"db", "transactional_db"} & set(request.fixturenames)):
        yield
        return
    transactional = "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> Client:
    _, key = create_token(user, "tests")
    return Client(headers={"Authorization": f"Token {key}"})


def assert_error(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    """The one error shape, with this status (and code and field, where given)."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    if field is not None:
        assert body["error"]["field"] == field
    return body["error"]
