"""Headers, error pages, the admin and role-less accounts, as the server answers them."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.helpers import client_for, make_scan

pytestmark = pytest.mark.django_db


def test_every_page_has_a_policy_without_inline_script(owner):
    response = client_for(owner).get(reverse("scans:upload"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"].split() == ["'self'", "https://cdn.jsdelivr.net/npm/chart.js@4.6.1/dist/chart.umd.js"]
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in directives["script-src"] and "unsafe" not in directives["style-src"]
    assert "<script>" not in response.content.decode()  # every script has a src


def test_chart_js_from_another_address_is_allowed_by_the_policy(owner, settings):
    settings.CHARTJS_URL = "https://charts.hospital.example/chart.umd.js"
    policy = client_for(owner).get(reverse("scans:upload"))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())  # any order
    assert directives["script-src"] == "'self' https://charts.hospital.example/chart.umd.js"


@pytest.mark.parametrize("name", ["scans:image", "scans:report", "api:scan-image"])
def test_scan_images_and_reports_are_never_stored_in_a_cache(owner, name):
    scan = make_scan(owner)
    response = client_for(owner).get(reverse(name, args=[scan.pk]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"


def test_the_api_docs_pages_say_their_language_and_have_a_heading(db):
    for url in ("/api/docs/", "/api/redoc/"):
        page = Client().get(url).content.decode()
        assert '<html lang="en">' in page and "<h1>NeuroLens API reference</h1>" in page
        assert "<script>" not in page


@override_settings(DEBUG=False)
def test_the_404_page_is_in_the_apps_look(owner):
    response = client_for(owner).get("/scans/999999/")
    assert response.status_code == 404 and "navbar" in response.content.decode()


def test_a_csrf_failure_is_explained_in_the_apps_look(owner):
    client = client_for(owner)
    client.handler.enforce_csrf_checks = True
    response = client.post(reverse("logout"))
    page = response.content.decode()
    assert response.status_code == 403 and "This form has expired" in page and "bootstrap" in page


def test_the_500_page_is_in_the_apps_look_and_needs_no_request():
    from django.template.loader import render_to_string

    page = render_to_string("500.html")
    assert "Something went wrong on our side" in page and "bootstrap" in page


@pytest.mark.parametrize("model", ["scans/scan", "scans/batchjob"])
def test_the_admin_offers_no_add_page_that_cannot_work(staff, model):
    client = client_for(staff)
    assert client.get(f"/admin/{model}/add/").status_code == 403
    assert f'href="/admin/{model}/add/"' not in client.get(f"/admin/{model}/").content.decode()


def test_an_account_without_a_role_is_told_what_it_lacks_and_whom_to_ask(outsider, staff):
    page = client_for(outsider).get(reverse("scans:history")).content.decode()
    assert "Your account has no role yet" in page and "(staff)" in page


def test_an_account_with_a_role_is_not_told_it_lacks_one(owner, staff):
    assert "no role yet" not in client_for(owner).get(reverse("scans:history")).content.decode()
    assert "no role yet" not in client_for(staff).get(reverse("scans:history")).content.decode()


def test_pages_link_a_web_app_manifest_whose_icons_exist(owner):
    import json

    from django.conf import settings

    page = client_for(owner).get(reverse("scans:upload")).content.decode()
    assert '<link rel="manifest" href="/static/manifest.webmanifest">' in page
    static = settings.BASE_DIR / "static"
    manifest = json.loads((static / "manifest.webmanifest").read_text())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert all((static / icon["src"]).is_file() for icon in manifest["icons"])
