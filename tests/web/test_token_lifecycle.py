"""API tokens end: at their expiry, and when the owner's password changes by any path; Bearer
works beside Token; password sign-in keeps one token per name; every password path validates."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from api.models import ApiToken
from api.tokens import create_token
from tests.api.conftest import assert_error
from tests.helpers import PASSWORD, client_for

pytestmark = pytest.mark.django_db
SCANS = "/api/v1/scans"
OBTAIN = "/api/v1/auth/token"
NEW_PASSWORD = "another-long-passphrase-42"


def works(key: str, scheme: str = "Token") -> bool:
    return Client(headers={"Authorization": f"{scheme} {key}"}).get(SCANS).status_code == 200


def test_bearer_is_accepted_beside_token(owner):
    _, key = create_token(owner, "script")
    assert works(key, "Bearer") and works(key, "bearer") and works(key, "Token")


def test_a_token_expires_after_api_token_days(owner, settings):
    settings.API_TOKEN_DAYS = 30
    token, key = create_token(owner, "script")
    assert abs(token.expires - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert works(key)
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    response = Client(headers={"Authorization": f"Token {key}"}).get(SCANS)
    assert_error(response, 401, "authentication_failed")
    assert "expired" in response.json()["error"]["message"]


def test_api_token_days_zero_gives_a_token_without_expiry(owner, settings):
    settings.API_TOKEN_DAYS = 0
    token, key = create_token(owner, "script")
    assert token.expires is None and works(key)


def test_a_password_set_in_the_shell_revokes_the_tokens(owner):
    _, key = create_token(owner, "script")
    user = get_user_model().objects.get(pk=owner.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not works(key)


def test_a_password_changed_on_the_page_revokes_the_tokens(owner):
    _, key = create_token(owner, "script")
    client = client_for(owner)
    response = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)
    assert "API tokens made before the change no longer work" in response.content.decode()
    assert not works(key)
    _, fresh = create_token(owner, "new")
    assert works(fresh)


def test_a_password_set_by_an_administrator_in_the_admin_revokes_the_tokens(owner, staff):
    _, key = create_token(owner, "script")
    response = client_for(staff).post(f"/admin/auth/user/{owner.pk}/password/", {
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 302
    assert not works(key)


def test_a_password_reset_by_e_mail_works_and_revokes_the_tokens(owner):
    _, key = create_token(owner, "script")
    client = Client()
    response = client.post("/accounts/password_reset/", {"email": "owner@example.org"}, follow=True)
    assert "Check your e-mail" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["owner@example.org"]
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
                       follow=True)
    assert "Your password is set" in done.content.decode()
    assert not works(key)
    assert client.post("/accounts/login/", {"username": "owner", "password": NEW_PASSWORD}).status_code == 302


def test_a_password_reset_refuses_a_weak_password(owner):
    client = Client()
    client.post("/accounts/password_reset/", {"email": "owner@example.org"})
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200 and "too common" in response.content.decode()


def test_signing_in_again_reuses_the_named_token_and_retires_its_old_key(owner, settings):
    settings.API_MAX_TOKENS_PER_USER = 3
    keys = []
    for _ in range(5):  # more runs than the cap allows tokens: one token, a new key each time
        response = Client().post(OBTAIN, {"username": "owner", "password": PASSWORD}, content_type="application/json")
        assert response.status_code == 200
        keys.append(response.json()["token"])
    assert list(owner.api_tokens.values_list("name", flat=True)) == ["Obtained with a password"]
    assert works(keys[-1]) and not works(keys[0])
    named = Client().post(OBTAIN, {"username": "owner", "password": PASSWORD, "name": "nightly export"})
    assert works(named.json()["token"]) and works(keys[-1])
    assert sorted(owner.api_tokens.values_list("name", flat=True)) == ["Obtained with a password", "nightly export"]


def test_create_user_refuses_a_password_the_validators_refuse(db):
    with pytest.raises(CommandError, match="too short.*too common.*entirely numeric"):
        call_command("create_user", "weak", "--role", "clinician", "--password", "1")
    assert not get_user_model().objects.filter(username="weak").exists()
    with pytest.raises(CommandError, match="too similar"):
        call_command("create_user", "marianne", "--role", "clinician", "--password", "marianne1")
    call_command("create_user", "strong", "--role", "clinician", "--password", NEW_PASSWORD, stdout=StringIO())
    assert get_user_model().objects.get(username="strong").check_password(NEW_PASSWORD)
