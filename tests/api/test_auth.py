"""Who the API lets in: tokens (stored hashed), sessions, and POST /api/v1/auth/token."""

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from api.models import ApiToken
from api.tokens import create_token
from tests.api.conftest import assert_error, token_client
from tests.helpers import PASSWORD, client_for

pytestmark = pytest.mark.django_db
SCANS = "/api/v1/scans"
OBTAIN = "/api/v1/auth/token"


def test_it_answers_401_without_credentials(owner):
    response = Client().get(SCANS)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Token nl_not-a-real-key", "Token", "Token a b", "Bearer x", "Token \xff"])
def test_it_answers_401_for_a_wrong_or_malformed_token(owner, header):
    response = Client(headers={"Authorization": header}).get(SCANS)
    assert_error(response, 401, "authentication_failed")


def test_a_scheme_other_than_token_or_bearer_counts_as_no_credentials(owner):
    assert_error(Client(headers={"Authorization": "Basic b3duZXI6eA=="}).get(SCANS), 401, "not_authenticated")


def test_it_accepts_a_token_and_stores_only_its_hash(owner):
    token, key = create_token(owner, "script")
    assert Client(headers={"Authorization": f"Token {key}"}).get(SCANS).status_code == 200
    token.refresh_from_db()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(ApiToken.objects.values_list()))
    assert token.prefix == key[:10] and token.last_used is not None


def test_a_revoked_token_no_longer_works(owner):
    token, key = create_token(owner, "script")
    client = Client(headers={"Authorization": f"Token {key}"})
    assert client.get(SCANS).status_code == 200
    token.delete()
    assert_error(client.get(SCANS), 401, "authentication_failed")


def test_a_deactivated_users_token_stops_working(owner):
    client = token_client(owner)
    owner.is_active = False
    owner.save()
    assert_error(client.get(SCANS), 401, "authentication_failed")


def test_the_browser_session_works_and_unsafe_calls_need_the_csrf_token(owner):
    client = client_for(owner)
    client.handler.enforce_csrf_checks = True
    assert client.get(SCANS).status_code == 200
    assert_error(client.post("/api/v1/tokens", {"name": "x"}), 403, "permission_denied")


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "form"])
def test_it_gives_a_working_token_for_a_username_and_password(owner, as_json):
    body = {"username": "owner", "password": PASSWORD}
    response = (Client().post(OBTAIN, body, content_type="application/json") if as_json
                else Client().post(OBTAIN, body))
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    key = response.json()["token"]
    assert Client(headers={"Authorization": f"Token {key}"}).get(SCANS).status_code == 200
    assert owner.api_tokens.get().name == "Obtained with a password"


@pytest.mark.parametrize("body", [{"username": "owner", "password": "wrong"},
                                  {"username": "nobody", "password": PASSWORD}])
def test_it_refuses_wrong_credentials_alike(owner, body):
    assert_error(Client().post(OBTAIN, body, content_type="application/json"), 401, "invalid_credentials")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(("body", "field"), [({"username": "owner"}, "password"), ({}, "username"),
                                             ({"username": 7, "password": PASSWORD}, "username")])
def test_it_names_the_missing_or_wrong_field(owner, body, field):
    assert_error(Client().post(OBTAIN, body, content_type="application/json"), 400, field=field)


def test_it_answers_415_to_a_body_it_cannot_read(owner):
    assert_error(Client().post(OBTAIN, "username=owner", content_type="text/plain"), 415, "unsupported_media_type")


#  Password guessing on this endpoint: tests/web/test_signin.py (the lockout it shares with the login page).


def test_the_login_page_still_redirects_html_pages(owner):
    response = Client().get(reverse("scans:history"))
    assert response.status_code == 302 and reverse("login") in response["Location"]
