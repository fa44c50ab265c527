"""Sign-in protection: lockouts per account and per address, shared by the login page and the
token endpoint, an address a client cannot forge, and an administrator's unlock."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.api.conftest import assert_error
from tests.helpers import PASSWORD, client_for

pytestmark = pytest.mark.django_db
OBTAIN = "/api/v1/auth/token"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3


def guess(username="owner", password="wrong-guess", **extra):
    return Client(**extra).post(LOGIN, {"username": username, "password": password})


def test_an_account_is_locked_after_the_limit_and_even_its_right_password_is_refused(owner):
    for _ in range(2):
        assert guess().status_code == 200
    third = guess()
    assert third.status_code == 429 and "Sign-in is blocked for 15 minutes" in third.content.decode()
    response = guess(password=PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in response.client.session
    assert int(response["Retry-After"]) == 15 * 60


def test_guesses_at_one_account_from_many_addresses_lock_that_account(owner):
    for i in range(3):
        guess(REMOTE_ADDR=f"10.0.0.{i}")
    assert guess(password=PASSWORD, REMOTE_ADDR="10.0.0.99").status_code == 429


def test_guesses_at_many_accounts_from_one_address_lock_that_address(owner, colleague):
    for i in range(3):
        guess(username=f"someone{i}", REMOTE_ADDR="10.1.1.1")
    assert guess(username="colleague", password=PASSWORD, REMOTE_ADDR="10.1.1.1").status_code == 429
    assert guess(username="colleague", password=PASSWORD, REMOTE_ADDR="10.1.1.2").status_code == 302


def test_a_client_sent_x_forwarded_for_does_not_change_the_address(owner, colleague):
    for i in range(3):
        guess(username=f"someone{i}", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    response = guess(username="colleague", password=PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 429


def test_behind_one_trusted_proxy_the_address_is_the_one_the_proxy_saw(owner, colleague, settings):
    settings.TRUSTED_PROXIES = 1
    for i in range(3):  # the client prepends a different forged address each time; the proxy appends its peer
        guess(username=f"someone{i}", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 192.0.2.10")
    assert guess(username="colleague", password=PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.10").status_code == 429
    assert guess(username="colleague", password=PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.11").status_code == 302


def test_the_case_or_spacing_of_the_name_does_not_give_fresh_guesses(owner):
    for name in ("owner", "OWNER", " Owner"):
        guess(username=name, REMOTE_ADDR=f"10.2.0.{len(name)}")
    assert guess(password=PASSWORD, REMOTE_ADDR="10.2.0.50").status_code == 429


def test_the_token_endpoint_counts_in_the_same_lockout_as_the_login_page(owner):
    guess()
    guess()
    response = Client().post(OBTAIN, {"username": "owner", "password": "wrong"}, content_type="application/json")
    assert_error(response, 429, "locked_out")
    assert int(response["Retry-After"]) > 0
    response = Client().post(OBTAIN, {"username": "owner", "password": PASSWORD}, content_type="application/json")
    assert_error(response, 429, "locked_out")
    assert "Sign-in is blocked" in response.json()["error"]["message"]
    assert guess(password=PASSWORD).status_code == 429
    assert not owner.api_tokens.exists()


def test_the_token_endpoint_ignores_a_forged_x_forwarded_for(owner):
    for i in range(3):
        Client(HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").post(OBTAIN, {"username": f"u{i}", "password": "x"})
    response = Client(HTTP_X_FORWARDED_FOR="198.51.100.1").post(OBTAIN, {"username": "owner", "password": PASSWORD})
    assert_error(response, 429, "locked_out")


def test_an_administrator_unlocks_an_account_in_the_admin(owner, staff):
    for _ in range(3):
        guess()
    assert guess(password=PASSWORD).status_code == 429
    admin = client_for(staff)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "owner" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="owner")
    assert admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 302
    assert guess(password=PASSWORD).status_code == 302


def test_an_administrator_unlocks_an_account_with_manage_py(owner):
    for i in range(3):
        guess(REMOTE_ADDR=f"10.3.0.{i}")
    assert guess(password=PASSWORD, REMOTE_ADDR="10.3.0.9").status_code == 429
    call_command("axes_reset_username", "owner")
    assert guess(password=PASSWORD, REMOTE_ADDR="10.3.0.9").status_code == 302


def test_the_login_page_says_a_session_expired_and_links_a_password_reset(db):
    page = Client().get(LOGIN + "?expired=1&next=/scans/").content.decode()
    assert "Your session expired" in page and reverse("password_reset") in page
    assert "Your session expired" not in Client().get(LOGIN).content.decode()
