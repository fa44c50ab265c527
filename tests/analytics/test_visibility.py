"""Who sees what: clinicians their own scans, reviewers, researchers and staff everything, an
account without a role nothing; patient references never reach a researcher."""

import pytest
from django.urls import reverse

from tests.helpers import client_for

pytestmark = pytest.mark.django_db
PAGES = ["analytics:dashboard", "analytics:statistics", "analytics:export-csv", "analytics:export-json",
         "analytics-statistics", "analytics-charts"]


def total(viewer, /, **params) -> int:
    return client_for(viewer).get(reverse("analytics-statistics"), params).json()["total"]


def text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_a_clinician_sees_only_their_own_scans(known, owner, colleague):
    assert (total(owner), total(colleague)) == (4, 2)


def test_a_clinician_cannot_widen_the_view_with_the_user_filter(known, colleague):
    assert total(colleague, user="owner") == 2


@pytest.mark.parametrize("persona", ["reviewer", "researcher", "staff"])
def test_reviewers_researchers_and_staff_see_every_scan(known, persona, request):
    assert total(request.getfixturevalue(persona)) == 6


@pytest.mark.parametrize("name", PAGES)
def test_an_account_without_a_role_sees_nothing(known, outsider, name):
    assert client_for(outsider).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES[:4])
def test_a_visitor_is_sent_to_log_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES[4:])
def test_the_api_answers_a_visitor_itself(client, name):
    assert client.get(reverse(name)).status_code in (401, 403)


@pytest.mark.parametrize("name", PAGES)
def test_no_patient_reference_reaches_a_researcher(known, researcher, name):
    body = text(client_for(researcher).get(reverse(name)))
    assert "PAT-9" not in body and "PAT-1" not in body and "patient_ref" not in body


def test_reviewers_and_clinicians_export_patient_references(known, reviewer, owner):
    assert "PAT-9" in text(client_for(reviewer).get(reverse("analytics:export-csv")))
    own = text(client_for(owner).get(reverse("analytics:export-csv")))
    assert "PAT-1" in own and "PAT-9" not in own


def test_only_staff_see_who_uploaded(known, staff, researcher, reviewer):
    assert "busiest_users" in client_for(staff).get(reverse("analytics-statistics")).json()
    for persona in (researcher, reviewer):
        assert "busiest_users" not in client_for(persona).get(reverse("analytics-statistics")).json()
        assert "colleague" not in text(client_for(persona).get(reverse("analytics:export-csv")))
        html = text(client_for(persona).get(reverse("analytics:dashboard")))
        #  The usage chart is there, with ranks ("User 1") instead of names, and no busiest-users chart.
        assert 'name="user"' not in html and "colleague" not in html and 'data-chart-id="users"' not in html
    assert 'name="user"' in text(client_for(staff).get(reverse("analytics:dashboard")))


def test_the_nav_links_the_analytics_for_roles_only(known, owner, outsider):
    assert 'href="/analytics/"' in text(client_for(owner).get(reverse("scans:history")))
    assert 'href="/analytics/"' not in text(client_for(outsider).get(reverse("scans:history")))
