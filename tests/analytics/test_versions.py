"""Model versions against each other and against the reviewers, from real stored predictions: scans
uploaded through the app (the served model), re-scored by archived versions (manage.py rescore), the
figures checked against a count made here from the rows themselves."""

from itertools import combinations

import pytest
import skimage.data
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from ml.versions import _version_key, load_card, served_version
from scans.models import Prediction, Review, Scan, ShadowPrediction
from scans.reviews import review_scan
from tests.helpers import client_for, dataset_files, encode, upload

pytestmark = pytest.mark.django_db
OLD, MIDDLE = "neurolens-cnn-1.1.0", "neurolens-cnn-1.2.0"
CLASSES = ("glioma", "meningioma", "notumor", "pituitary")


@pytest.fixture
def rescored(owner, colleague, reviewer):
    """owner: six slices and a grey portrait; colleague: two slices; three reviewed; every scan then
    re-scored by 1.1.0 and the owner's also by 1.2.0."""
    images = dataset_files(per_class=2)
    for cls, path in images[:6]:
        assert upload(client_for(owner), path.read_bytes(), name=path.name).status_code == 200
    portrait = encode(Image.fromarray(skimage.data.astronaut()).convert("L"), "PNG")
    assert upload(client_for(owner), portrait, name="portrait.png").status_code == 200
    for cls, path in images[6:]:
        assert upload(client_for(colleague), path.read_bytes(), name=path.name).status_code == 200
    scans = {s.original_name: s for s in Scan.objects.all()}
    review_scan(reviewer, scans[images[0][1].name], "confirmed")
    review_scan(reviewer, scans[images[2][1].name], "corrected", corrected_label="notumor")
    review_scan(reviewer, scans[images[7][1].name], "confirmed")
    review_scan(reviewer, scans["portrait.png"], "not_assessable", reason="not_brain")
    call_command("rescore", "--version", OLD, stdout=None)
    call_command("rescore", "--version", MIDDLE, stdout=None)
    ShadowPrediction.objects.filter(model_version=MIDDLE).exclude(scan__owner=owner).delete()
    return scans


def answers(owner=None) -> dict[int, dict[str, tuple[str, bool]]]:
    """scan -> version -> (class, refused), from the rows."""
    out: dict[int, dict] = {}
    for model in (Prediction, ShadowPrediction):
        rows = model.objects.all() if owner is None else model.objects.filter(scan__owner=owner)
        for p in rows:
            out.setdefault(p.scan_id, {})[p.model_version] = (p.label, p.out_of_scope)
    return out


def expected_pairs(found: dict) -> dict[tuple[str, str], dict]:
    pairs: dict = {}
    for by_version in found.values():
        for a, b in combinations(sorted(by_version, key=_version_key), 2):
            (la, oa), (lb, ob) = by_version[a], by_version[b]
            p = pairs.setdefault((a, b), {"scans": 0, "agreed": 0, "in_scope_by_both": 0, "refused_by_a": 0,
                                          "refused_by_b": 0, "refused_by_both": 0,
                                          "matrix": {x: dict.fromkeys(CLASSES, 0) for x in CLASSES}})
            p["scans"] += 1
            if oa or ob:
                p["refused_by_both" if oa and ob else "refused_by_a" if oa else "refused_by_b"] += 1
                continue
            p["in_scope_by_both"] += 1
            p["agreed"] += la == lb
            p["matrix"][la][lb] += 1
    return pairs


def expected_verdicts(found: dict) -> dict[str, dict]:
    verdicts = {r.scan_id: r.label for r in Review.objects.filter(current=True, status__in=["confirmed", "corrected"])}
    out: dict = {}
    for scan, by_version in found.items():
        if scan not in verdicts:
            continue
        for version, (label, refused) in by_version.items():
            v = out.setdefault(version, {"reviewed": 0, "agreed": 0, "refused": 0})
            if refused:
                v["refused"] += 1
            else:
                v["reviewed"] += 1
                v["agreed"] += label == verdicts[scan]
    return out


def api(user) -> dict:
    response = client_for(user).get(reverse("analytics-versions"))
    assert response.status_code == 200
    return response.json()


def test_the_pairs_match_a_count_of_the_stored_rows(rescored, reviewer):
    body = api(reviewer)
    expected = expected_pairs(answers())
    assert {(p["a"], p["b"]) for p in body["pairs"]} == set(expected) == {
        (OLD, MIDDLE), (OLD, served_version()), (MIDDLE, served_version())}
    for p in body["pairs"]:
        e = expected[(p["a"], p["b"])]
        assert {k: p[k] for k in e} == e
        assert p["rate"] == round(e["agreed"] / e["in_scope_by_both"], 4)


def test_versions_with_one_network_give_one_class_and_differ_only_in_what_they_refuse(rescored, reviewer):
    """1.1.0 and 1.2.0 share one network file (whatever is served now), so they name the same class
    wherever both keep an image in scope, on the seven of the owner's scans that both scored."""
    assert load_card(OLD)["sha256"] == load_card(MIDDLE)["sha256"]
    pair = next(p for p in api(reviewer)["pairs"] if (p["a"], p["b"]) == (OLD, MIDDLE))
    assert pair["scans"] == 7 and pair["rate"] == 1.0
    #  The grey portrait: 1.1.0's hand-set rules let it through, the learned guard of 1.2.0 refuses it.
    assert pair["refused_by_b"] >= 1 and pair["refused_by_a"] == 0


def test_each_versions_agreement_with_the_reviewers_matches_the_rows(rescored, reviewer):
    body = api(reviewer)
    expected = expected_verdicts(answers())
    assert {v["version"]: {k: v[k] for k in ("reviewed", "agreed", "refused")} for v in body["by_version"]} == expected
    served = next(v for v in body["by_version"] if v["version"] == served_version())
    assert served["reviewed"] == 3 and served["agreed"] == 2 and served["as_result"] == 3 and served["as_shadow"] == 0
    assert all(v["has_card"] for v in body["by_version"])


def test_a_clinician_sees_the_comparison_of_their_own_scans_only(rescored, owner):
    body = api(owner)
    expected = expected_pairs(answers(owner))
    got = {(p["a"], p["b"]): {k: p[k] for k in expected[(p["a"], p["b"])]} for p in body["pairs"]}
    assert got == expected and got[(OLD, served_version())]["scans"] == 7


def test_the_dashboard_shows_the_comparison_with_its_tables(rescored, reviewer):
    html = client_for(reviewer).get(reverse("analytics:dashboard")).content.decode()
    assert "Model versions and the reviewers" in html
    assert f"{OLD} against {served_version()}" in html and f"{OLD} against {MIDDLE}" in html
    pair = next(p for p in api(reviewer)["pairs"] if (p["a"], p["b"]) == (OLD, served_version()))
    assert f"the same class on {pair['agreed']} of the {pair['in_scope_by_both']} both kept in scope ({pair['rate']:.1%})" in html


def test_the_filters_narrow_the_comparison(rescored, reviewer):
    response = client_for(reviewer).get(reverse("analytics-versions"), {"review": "confirmed"})
    pair = next(p for p in response.json()["pairs"] if (p["a"], p["b"]) == (OLD, served_version()))
    assert pair["scans"] == 2


def test_without_shadows_the_dashboard_says_how_to_get_them(owner, reviewer):
    path = dataset_files()[0][1]
    upload(client_for(owner), path.read_bytes(), name=path.name)
    html = client_for(reviewer).get(reverse("analytics:dashboard")).content.decode()
    assert "No scan under these filters has answers from two model versions" in html
    assert api(reviewer)["pairs"] == []


def test_the_versions_api_refuses_who_may_not_see_analytics_and_names_a_bad_filter(outsider, reviewer):
    from django.test import Client

    assert Client().get(reverse("analytics-versions")).status_code == 401
    assert client_for(outsider).get(reverse("analytics-versions")).status_code == 403
    bad = client_for(reviewer).get(reverse("analytics-versions"), {"date_from": "soon"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "date_from"
