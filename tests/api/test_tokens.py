"""A user's tokens: through the API, on the profile page, and with manage.py api_token."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from api.models import ApiToken
from api.tokens import create_token
from tests.api.conftest import assert_error, token_client
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens"


def works(key: str) -> bool:
    return Client(headers={"Authorization": f"Token {key}"}).get(TOKENS).status_code == 200


def test_it_lists_only_the_callers_tokens_and_never_a_key(owner, colleague):
    client = token_client(owner)
    create_token(colleague, "theirs")
    body = client.get(TOKENS).json()
    assert [t["name"] for t in body] == ["tests"]
    assert set(body[0]) == {"id", "name", "prefix", "created", "last_used", "expires"}


def test_it_creates_a_token_whose_key_is_shown_once(owner):
    client = token_client(owner)
    response = client.post(TOKENS, {"name": "PACS bridge"}, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "PACS bridge" and body["token"].startswith(body["prefix"])
    assert works(body["token"])
    assert all("token" not in t for t in client.get(TOKENS).json())


def test_it_refuses_a_name_that_is_not_text_or_too_long(owner):
    client = token_client(owner)
    assert_error(client.post(TOKENS, {"name": 5}, content_type="application/json"), 400, "invalid", "name")
    assert_error(client.post(TOKENS, {"name": "x" * 101}, content_type="application/json"), 400, "max_length", "name")


def test_it_caps_the_number_of_tokens(owner, settings):
    settings.API_MAX_TOKENS_PER_USER = 2
    client = token_client(owner)
    assert client.post(TOKENS, {"name": "second"}).status_code == 201
    assert_error(client.post(TOKENS, {"name": "third"}), 400, "too_many_tokens")


def test_it_revokes_a_token(owner):
    client = token_client(owner)
    token, key = create_token(owner, "old")
    assert client.delete(f"{TOKENS}/{token.pk}").status_code == 204
    assert not works(key) and not ApiToken.objects.filter(pk=token.pk).exists()


def test_another_users_token_is_not_found_and_survives(owner, colleague):
    theirs, key = create_token(colleague, "theirs")
    assert_error(token_client(owner).delete(f"{TOKENS}/{theirs.pk}"), 404, "not_found")
    assert works(key)


def test_the_profile_page_creates_lists_and_revokes_tokens(owner):
    client = client_for(owner)
    page = client.get(reverse("account:tokens"))
    assert page.status_code == 200 and "You have no tokens." in page.content.decode()
    created = client.post(reverse("account:tokens"), {"name": "Lab script"})
    html = created.content.decode()
    token = owner.api_tokens.get()
    key = created.context["new_key"]
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    assert key in html and "cannot be shown again" in html and works(key)
    listed = client.get(reverse("account:tokens")).content.decode()
    assert "Lab script" in listed and token.prefix in listed and key not in listed
    response = client.post(reverse("account:revoke-token", args=[token.pk]), follow=True)
    assert "Token revoked" in response.content.decode() and not works(key)


def test_the_profile_page_cannot_revoke_someone_elses_token(owner, colleague):
    theirs, key = create_token(colleague, "theirs")
    response = client_for(owner).post(reverse("account:revoke-token", args=[theirs.pk]), follow=True)
    assert "No such token." in response.content.decode() and works(key)


def test_the_profile_page_needs_a_name_and_a_login(owner):
    assert client_for(owner).post(reverse("account:tokens"), {"name": ""}).status_code == 422
    assert not owner.api_tokens.exists()
    assert Client().get(reverse("account:tokens")).status_code == 302


def test_the_nav_links_to_the_profile_page(owner):
    html = client_for(owner).get(reverse("scans:history")).content.decode()
    assert f'href="{reverse("account:tokens")}"' in html


def test_an_administrator_manages_tokens_with_manage_py(owner, capsys):
    call_command("api_token", "create", "owner", "--name", "from ops")
    out = capsys.readouterr().out
    key = out.split("Key (shown once): ")[1].strip()
    token = owner.api_tokens.get()
    assert token.name == "from ops" and works(key)
    call_command("api_token", "list", "owner")
    listed = capsys.readouterr().out
    assert token.prefix in listed and key not in listed
    call_command("api_token", "revoke", str(token.pk))
    assert not works(key)
    with pytest.raises(CommandError, match="No token"):
        call_command("api_token", "revoke", str(token.pk))
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "create", "ghost")


def test_administrators_see_and_revoke_tokens_in_the_admin_but_not_their_hashes(owner, staff):
    token, key = create_token(owner, "lab")
    client = client_for(staff)
    listing = client.get("/admin/api/apitoken/").content.decode()
    assert "lab" in listing and token.prefix in listing and token.key_hash not in listing
    assert client.get("/admin/api/apitoken/add/").status_code == 403
    client.post(f"/admin/api/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert not works(key)


def test_the_token_its_user_and_every_role_come_in_one_query(django_user_model, django_assert_num_queries):
    from django.contrib.auth.models import Group

    from api.tokens import token_for_key
    from scans.permissions import can_review, can_upload, has_role

    both = django_user_model.objects.create_user("both", password="pw-Both-1")
    both.groups.add(Group.objects.get_or_create(name="clinician")[0], Group.objects.get_or_create(name="reviewer")[0])
    none = django_user_model.objects.create_user("none", password="pw-None-1")
    for user, roles in ((both, {"clinician", "reviewer"}), (none, set())):
        key = create_token(user, "t")[1]
        token_for_key(key)  # the first use writes last_used
        with django_assert_num_queries(1):
            token = token_for_key(key)
            assert token.user == user and token.user.username == user.username
            assert {r for r in ("clinician", "reviewer", "researcher") if has_role(token.user, r)} == roles
            assert can_upload(token.user) == ("clinician" in roles) and can_review(token.user) == ("reviewer" in roles)
        assert token.created == ApiToken.objects.get(pk=token.pk).created  # converted as the ORM reads it
        assert token.user.date_joined == user.date_joined and token.user.is_active
    assert token_for_key("nl_" + "x" * 43) is None
