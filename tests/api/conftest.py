import pytest
from django.core.cache import cache
from django.test import Client

from api.tokens import create_token


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counts live in the cache; each test starts from none."""
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
