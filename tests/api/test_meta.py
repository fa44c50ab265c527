"""Health, classes, the model, unknown addresses, throttling, and the documentation."""

import time

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client

from ml.infer import CLASSES, DISPLAY_NAMES, get_classifier
from tests.api.conftest import assert_error, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_window():
    """The throttles count in fixed windows (accounts.throttling): start where at least 20 s of this
    minute (and so of this hour) are left, so that a test's calls all fall in one window. Without it
    a test that crossed a minute's end saw its count start again (it failed once in CI)."""
    left = 60 - time.time() % 60
    if left < 20:
        time.sleep(left + 0.05)


def test_health_needs_no_login(db):
    body = Client().get("/api/v1/health").json()
    assert body["status"] == "ok" and body["database"] is True and body["uptime_s"] >= 0
    assert body["model"] == {"loaded": True, "version": get_classifier().version}


def test_classes_are_the_four_keys_and_names(owner):
    body = token_client(owner).get("/api/v1/classes").json()
    assert body == [{"key": c, "name": DISPLAY_NAMES[c]} for c in CLASSES]
    assert_error(Client().get("/api/v1/classes"), 401)


def test_the_model_endpoints_serve_the_card(owner):
    client, card = token_client(owner), get_classifier().card
    model = client.get("/api/v1/model").json()
    assert (model["version"], model["architecture"], model["metrics"]) == (
        card["version"], card["architecture"], card["metrics"])
    assert client.get("/api/v1/model/card").json() == card
    metrics = client.get("/api/v1/model/metrics").json()
    assert metrics["version"] == card["version"] and metrics["accuracy"] == card["metrics"]["accuracy"]


def test_an_unknown_api_address_is_a_json_404(owner):
    for client in (Client(), token_client(owner)):
        assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
        assert_error(client.delete("/api/v1/scans/abc"), 404, "not_found")


def test_calls_are_throttled_per_user(owner, colleague, settings, one_window):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "3/min"}
    mine, theirs = token_client(owner), token_client(colleague)
    assert [mine.get("/api/v1/classes").status_code for _ in range(3)] == [200] * 3
    response = mine.get("/api/v1/scans")
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert theirs.get("/api/v1/classes").status_code == 200


def test_uploads_have_their_own_lower_rate(owner, settings, one_window):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "upload": "1/hour"}
    client = token_client(owner)
    assert client.post("/api/v1/scans", {}).status_code == 400
    assert_error(client.post("/api/v1/scans", {}), 429, "throttled")
    assert client.get("/api/v1/scans").status_code == 200


def test_an_upload_counts_against_both_of_its_throttles_in_one_statement(owner, settings, one_window):
    from datetime import timedelta

    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import ThrottleWindow

    ended = ThrottleWindow.objects.create(key="user:someone:0", count=9, expires=timezone.now() - timedelta(seconds=1))
    running = ThrottleWindow.objects.create(key="user:other:0", count=2, expires=timezone.now() + timedelta(minutes=1))
    settings.API_THROTTLE_RATES = {"user": "4/min", "upload": "2/hour"}
    client = token_client(owner)
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/api/v1/scans", {}).status_code == 400
    #  The first call opens both windows: one upsert, then the ended windows go (a second statement).
    assert sum("accounts_throttlewindow" in q["sql"] for q in queries.captured_queries) == 2
    assert not ThrottleWindow.objects.filter(pk=ended.pk).exists()
    assert ThrottleWindow.objects.filter(pk=running.pk).exists()
    assert sorted(k.split(":")[0] for k in ThrottleWindow.objects.exclude(pk=running.pk)
                  .values_list("key", flat=True)) == ["upload", "user"]
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/api/v1/scans", {}).status_code == 400
    assert sum("accounts_throttlewindow" in q["sql"] for q in queries.captured_queries) == 1  # counted, nothing to drop
    assert_error(client.post("/api/v1/scans", {}), 429, "throttled")  # the upload rate, 2/hour
    assert client.get("/api/v1/scans").status_code == 200  # the 4th call: within 4/min
    assert_error(client.get("/api/v1/scans"), 429, "throttled")  # the 5th: refused calls counted too
    counts = dict(ThrottleWindow.objects.exclude(pk=running.pk).values_list("key", "count"))
    assert sorted(counts.values()) == [3, 5]


def test_a_bad_throttle_rate_stops_the_process(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_rate

    monkeypatch.setenv("API_THROTTLE_USER", "lots")
    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_USER"):
        env_rate("API_THROTTLE_USER", "1/min")
    monkeypatch.setenv("API_THROTTLE_USER", " 30/hour ")
    assert env_rate("API_THROTTLE_USER", "1/min") == "30/hour"


def test_the_schema_documents_every_endpoint_with_its_errors(db):
    schema = Client().get("/api/schema/", headers={"Accept": "application/json"}).json()
    assert schema["openapi"].startswith("3.")
    ours = {p: ops for p, ops in schema["paths"].items() if not p.startswith("/api/v1/analytics/")}
    assert {"/api/v1/scans", "/api/v1/auth/token", "/api/predict", "/api/predict/batch"} <= set(ours)
    for path, ops in ours.items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            codes = set(op["responses"])
            assert "429" in codes and "405" in codes, (method, path)
            assert any(c.startswith("2") for c in codes), (method, path)
            if op.get("security") != [{}] and "health" not in path and "auth/token" not in path:
                assert "401" in codes, (method, path)
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"


def test_the_docs_page_loads_its_files_from_this_server(db):
    html = Client().get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr" not in html and "unpkg" not in html
    #  collectstatic ships it, so whitenoise serves it with no internet.
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
