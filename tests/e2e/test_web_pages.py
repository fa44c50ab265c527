"""Every page of the app in Chromium, in both themes, at 1440 and 390 px: axe-core finds nothing
serious or critical, the Content-Security-Policy (enforced) reports no violation, and at phone width
no page scrolls sideways. Also the charts with the CDN blocked, and the API docs pages."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from tests.api.conftest import token_client
from tests.e2e.test_browser import sample_image
from tests.e2e.web_support import (
    BROWSER_TEST,
    DESKTOP,
    PHONE,
    chromium,
    new_page,
    overflow,
    serious_axe_findings,
    session_cookie,
    violations,
)
from tests.helpers import DATASETS, make_scan, make_user, png
from tests.studies.series import stow_series

pytestmark = BROWSER_TEST


@pytest.fixture
def site(staff, owner):
    """Something on every page: scans with a patient, a review, a batch, a study, audit entries."""
    scan = make_scan(staff, "axial-t1.png", "glioma", 0.912, patient_ref="PT-1", seed=3)
    make_scan(staff, "axial-t2.png", "notumor", 0.634, patient_ref="PT-1", seed=4)
    make_scan(owner, "coronal.png", "pituitary", 0.871, seed=5)
    Client().force_login(staff)
    batch = token_client(staff).post("/api/v1/batches", {"files": [ContentFile(png(96, 7), name="b1.png"),
                                                                   ContentFile(b"not an image", name="b2.txt")]})
    assert batch.status_code == 201, batch.content
    pages = {
        "upload": "/scans/new/", "history": "/scans/", "detail": f"/scans/{scan.pk}/",
        "delete": f"/scans/{scan.pk}/delete", "patients": "/scans/patients/", "patient": f"/scans/patients/{scan.patient.public_id}/",
        "worklist": "/scans/review/", "studies": "/studies/",
        "batch new": "/scans/batches/new", "batch": f"/scans/batches/{batch.json()['id']}/",
        "model": "/model/", "analytics": "/analytics/", "statistics": "/analytics/statistics/",
        "audit": "/audit/", "tokens": "/account/tokens/", "password change": "/accounts/password_change/",
    }
    if (DATASETS / "brain-tumor-mri").is_dir():  # a study from DICOMweb (slices of the data sets), its viewer
        series = stow_series(token_client(staff), "glioma", 3)
        pages.update(study=f"/studies/{series.study_id}/", series=f"/studies/series/{series.pk}/")
    anonymous = {"login": "/accounts/login/", "password reset": "/accounts/password_reset/"}
    roleless = make_user("newcomer")
    return {"staff": session_cookie(staff), "roleless": session_cookie(roleless), "pages": pages,
            "anonymous": anonymous}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440px", "390px"])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_page_passes_axe_and_the_policy_without_overflow(site, live_server, theme, viewport):
    problems = []
    visits = [(site["staff"], name, url) for name, url in site["pages"].items()]
    visits += [(None, name, url) for name, url in site["anonymous"].items()]
    visits.append((site["roleless"], "history without a role", "/scans/"))
    with chromium() as browser:
        for cookie, name, url in visits:
            page = new_page(browser, live_server.url, cookie, theme, viewport)
            response = page.goto(live_server.url + url)
            assert response.status == 200, f"{name}: {response.status}"
            assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()}
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.dataset.bsTheme") == theme
            problems += [f"{name}: CSP {v}" for v in violations(page)]
            problems += [f"{name}: axe {v}" for v in serious_axe_findings(page)]
            if viewport is PHONE:
                found = overflow(page)
                if found["scroll"] > found["client"]:
                    problems.append(f"{name}: {found['scroll']} px wide at {found['client']} px, e.g. {found['wide']}")
            page.context.close()
    assert not problems, "\n".join(problems)


def test_the_charts_draw_from_our_own_copy_when_the_cdn_is_blocked(site, live_server):
    with chromium() as browser:
        for chartjs in ("block", "serve"):
            page = new_page(browser, live_server.url, site["staff"], chartjs=chartjs)
            cdn_failed = []
            page.on("requestfailed", lambda r, failed=cdn_failed: failed.append(r.url) if "jsdelivr" in r.url else None)
            page.goto(live_server.url + "/analytics/")
            page.wait_for_function("""() => {
              const c = [...document.querySelectorAll("canvas[data-chart]")];
              return window.Chart && c.length > 0 && c.every(x => Chart.getChart(x));
            }""", timeout=15000)
            local = page.evaluate("[...document.scripts].some(s => s.src.includes('/static/vendor/chartjs/'))")
            assert (local, bool(cdn_failed)) == ((True, True) if chartjs == "block" else (False, False))
            assert page.evaluate("document.querySelectorAll('canvas[data-chart]').length") >= 5
            assert violations(page) == []
            page.context.close()


def test_the_api_docs_pages_load_under_the_policy(db, live_server):
    with chromium() as browser:
        for url, ready in (("/api/docs/", ".opblock"), ("/api/redoc/", "[role=menuitem], .menu-content")):
            page = new_page(browser, live_server.url, None)
            page.goto(live_server.url + url)
            page.wait_for_selector(ready, timeout=20000)
            assert page.evaluate("document.documentElement.lang") == "en"
            assert page.get_by_role("heading", name="NeuroLens API reference").is_visible()
            page.get_by_role("heading", name="Quick start").wait_for()
            if url == "/api/docs/":  # the prototype's calls come last, marked as kept for old clients
                tags = page.eval_on_selector_all(".opblock-tag", "els => els.map(e => e.dataset.tag)")
                assert tags[0] == "tokens" and tags[-1] == "prototype", tags
                assert "Kept for old clients" in page.locator(".opblock-tag[data-tag=prototype]").inner_text()
            #  ReDoc's "powered by" logo comes from its own CDN: the policy blocks it, and nothing else.
            assert [v for v in violations(page) if "cdn.redoc.ly/redoc/logo-mini.svg" not in v] == [], url
            page.context.close()


def test_on_a_phone_the_result_is_brought_into_view_after_analyse(owner, live_server, tmp_path):
    from playwright.sync_api import expect

    image = sample_image(tmp_path)
    cookie = session_cookie(owner)
    with chromium() as browser:
        page = new_page(browser, live_server.url, cookie, viewport=PHONE)
        page.goto(live_server.url + "/scans/new/")
        page.set_input_files("#id_image", str(image))
        page.get_by_role("button", name="Analyse").click()
        result = page.get_by_test_id("result")
        expect(result).to_be_visible(timeout=30000)
        page.wait_for_function("""() => {
          const r = document.querySelector("[data-testid=result]").getBoundingClientRect();
          return r.top >= 0 && r.top < window.innerHeight - 100;
        }""", timeout=10000)
        assert page.evaluate("window.scrollY") > 0
        assert overflow(page)["scroll"] <= PHONE["width"]


def test_the_theme_follows_the_system_until_the_user_chooses_one(owner, live_server):
    cookie = session_cookie(owner)
    with chromium() as browser:
        page = new_page(browser, live_server.url, cookie, theme="light")
        page.goto(live_server.url + "/scans/")
        theme = "document.documentElement.dataset.bsTheme"
        assert page.evaluate(theme) == "light"
        page.emulate_media(color_scheme="dark")  # the system switches: the page follows
        page.wait_for_function(f"() => {theme} === 'dark'")
        page.get_by_role("button", name="Light theme").click()  # the user chooses
        assert page.evaluate(theme) == "light"
        page.emulate_media(color_scheme="dark")
        page.reload()
        assert page.evaluate(theme) == "light"  # the choice wins over the system from now on
        assert page.get_by_role("button", name="Dark theme").get_attribute("aria-pressed") == "true"
