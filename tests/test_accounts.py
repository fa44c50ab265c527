import pytest
from django.urls import reverse

from tests.helpers import PASSWORD, client_for

pytestmark = pytest.mark.django_db


def test_a_clinician_logs_in_and_lands_on_the_upload_page(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("scans:upload")


def test_a_researcher_lands_on_the_history(client, researcher):
    response = client.post(reverse("login"), {"username": "researcher", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("scans:history")


def test_a_wrong_password_is_refused_with_a_message(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200 and "do not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_a_post_and_ends_the_session(owner):
    client = client_for(owner)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("scans:history")).status_code == 302


def test_a_user_changes_their_password(owner):
    client = client_for(owner)
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "An0ther-long-phrase", "new_password2": "An0ther-long-phrase"})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("An0ther-long-phrase")


def test_the_layout_has_a_theme_switch_and_no_external_assets(owner):
    html = client_for(owner).get(reverse("scans:history")).content.decode()
    assert 'data-bs-theme="dark"' in html and 'id="theme-toggle"' in html
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html and "://" not in html.split("<body")[0]
