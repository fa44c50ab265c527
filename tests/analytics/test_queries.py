"""Every aggregate against figures worked out by hand from the six known predictions."""

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from analytics import queries
from analytics.percentile import PercentileCont, percentile_by_offset
from scans.models import Prediction, Review, Scan

pytestmark = pytest.mark.django_db
LOW = 0.6


def preds(**filters):
    return Prediction.objects.filter(**filters).order_by()


def test_totals_match_hand_computed_values(known):
    t = queries.totals(preds(), LOW)
    assert (t["total"], t["out_of_scope"], t["low_confidence"]) == (6, 1, 2)
    assert t["mean_confidence"] == pytest.approx(4.10 / 6, abs=1e-4)
    assert t["median_confidence"] == pytest.approx(0.675)
    assert t["out_of_scope_share"] == pytest.approx(0.1667, abs=1e-4)
    assert t["low_confidence_share"] == pytest.approx(0.3333, abs=1e-4)
    assert t["first"].date() == date(2026, 3, 2) and t["last"].date() == date(2026, 3, 11)


def test_totals_of_nothing_are_zero_and_none(db):
    t = queries.totals(preds(), LOW)
    assert t["total"] == 0 and t["mean_confidence"] is None and t["median_confidence"] is None
    assert t["out_of_scope_share"] is None


def test_class_stats_give_count_share_mean_median_and_low_per_class(known):
    rows = {r["label"]: r for r in queries.class_stats(preds(), LOW)}
    assert list(rows) == ["glioma", "meningioma", "notumor", "pituitary"]
    g = rows["glioma"]
    assert (g["count"], g["share"], g["low_confidence"]) == (3, 0.5, 1)
    assert g["mean_confidence"] == pytest.approx(0.7167, abs=1e-4) and g["median_confidence"] == pytest.approx(0.65)
    assert rows["notumor"]["out_of_scope"] == 1 and rows["notumor"]["low_confidence_share"] == 1.0
    assert rows["pituitary"]["median_confidence"] == pytest.approx(0.85)


def test_class_stats_list_a_class_without_predictions_as_zero(known):
    rows = {r["label"]: r for r in queries.class_stats(preds(label="glioma"), LOW)}
    assert rows["pituitary"] == {**rows["pituitary"], "count": 0, "share": 0.0, "mean_confidence": None}


def test_the_histogram_puts_each_confidence_in_its_tenth(known):
    hist = queries.confidence_histogram(preds())
    assert hist["glioma"] == [0, 0, 0, 0, 0, 1, 1, 0, 0, 1]
    assert hist["meningioma"][7] == 1 and hist["notumor"][4] == 1 and hist["pituitary"][8] == 1


def test_a_confidence_of_one_lands_in_the_last_bin(owner):
    from tests.analytics.conftest import add_prediction

    add_prediction(owner, "glioma", 1.0, 0)
    assert queries.confidence_histogram(preds())["glioma"][9] == 1


def test_the_weekly_timeline_stacks_classes_from_monday(known):
    weeks = queries.timeline(preds(), "week")
    assert [w["start"] for w in weeks] == [date(2026, 3, 2), date(2026, 3, 9)]
    assert weeks[0]["counts"] == {"glioma": 2, "meningioma": 1, "notumor": 0, "pituitary": 0}
    assert (weeks[1]["total"], weeks[1]["out_of_scope"], weeks[1]["out_of_scope_share"]) == (3, 1, 0.3333)


def test_the_daily_timeline_fills_quiet_days_with_zeros(known):
    days = queries.timeline(preds(), "day")
    assert len(days) == 10 and [d["total"] for d in days] == [1, 2, 0, 0, 0, 0, 0, 0, 2, 1]


def test_the_overview_folds_one_query_into_the_same_figures(known, django_assert_num_queries):
    with django_assert_num_queries(1):
        seen = queries.overview(preds(), "week")
    assert seen["totals"] == {"total": 6, "out_of_scope": 1, "out_of_scope_share": 0.1667,
                              "mean_confidence": round(4.10 / 6, 4)}
    assert seen["histogram"] == queries.confidence_histogram(preds())
    assert seen["timeline"] == queries.timeline(preds(), "week")
    assert [c["count"] for c in seen["classes"]] == [3, 1, 1, 1]


def test_inference_percentiles_per_model_version(known):
    rows = {r["model_version"]: r for r in queries.inference_by_version(preds())}
    assert (rows["v1"]["count"], rows["v1"]["p50_ms"], rows["v1"]["p95_ms"]) == (3, 20.0, 29.0)
    assert (rows["v2"]["p50_ms"], rows["v2"]["p95_ms"]) == (50.0, 59.0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="percentile_cont is PostgreSQL's")
def test_the_offset_fallback_agrees_with_percentile_cont(known):
    for fraction in (0, 0.25, 0.5, 0.95, 1):
        native = preds().aggregate(v=PercentileCont("confidence", fraction))["v"]
        assert percentile_by_offset(preds(), "confidence", fraction) == pytest.approx(native)
    assert percentile_by_offset(preds(label="nothing"), "confidence", 0.5) is None


def test_usage_counts_scans_per_user_and_day(known, django_assert_num_queries):
    with django_assert_num_queries(2):  # the rows grouped by user and day, then the kept users' names
        seen = queries.usage(preds(), names=True)
    assert seen["days"][0] == date(2026, 3, 2) and len(seen["days"]) == 10
    assert [d["count"] for d in seen["per_day"]] == [1, 2, 0, 0, 0, 0, 0, 0, 2, 1]
    mine, theirs = seen["users"]
    assert (mine["name"], mine["scans"], mine["active_days"]) == ("owner", 4, 3)
    assert mine["per_day"] == {date(2026, 3, 2): 1, date(2026, 3, 3): 2, date(2026, 3, 10): 1}
    assert (theirs["name"], theirs["scans"], theirs["active_days"]) == ("colleague", 2, 2)
    assert theirs["per_day"] == {date(2026, 3, 10): 1, date(2026, 3, 11): 1}
    assert seen["others"] == {}


def test_usage_sums_everyone_beyond_the_busiest_as_others(known, django_assert_num_queries):
    with django_assert_num_queries(1):  # no names asked for: no second query
        seen = queries.usage(preds(), top=1)
    assert [(u["name"], u["scans"]) for u in seen["users"]] == [(None, 4)]
    assert seen["others"] == {date(2026, 3, 10): 1, date(2026, 3, 11): 1}


def test_usage_by_day_alone_groups_by_day_only(known, django_assert_num_queries):
    with django_assert_num_queries(1):
        seen = queries.usage(preds(label="glioma"), top=0)
    assert seen["users"] == [] and seen["others"] == {}
    assert [d["count"] for d in seen["per_day"]] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_usage_days_are_days_in_the_viewers_time_zone(known):
    with timezone.override(ZoneInfo("Pacific/Kiritimati")):  # UTC+14: 10:00 UTC is midnight of the next day
        seen = queries.usage(preds())
    assert seen["days"][0] == date(2026, 3, 3)
    assert seen["users"][0]["per_day"] == {date(2026, 3, 3): 1, date(2026, 3, 4): 2, date(2026, 3, 11): 1}


def test_busiest_users_count_scans_and_active_days(known):
    assert queries.busiest_users(queries.usage(preds(), names=True)) == [
        {"username": "owner", "scans": 4, "active_days": 3, "per_active_day": 1.3},
        {"username": "colleague", "scans": 2, "active_days": 2, "per_active_day": 1.0},
    ]


def test_agreement_counts_each_scans_current_review(known, reviewer):
    review = Review
    p = {x.scan.original_name: x for x in Prediction.objects.select_related("scan")}

    def verdict(name, label, current=True):
        pred = p[name]
        status = "confirmed" if label == pred.label else "corrected"
        review.objects.create(scan=pred.scan, prediction=pred, reviewer=reviewer, status=status, label=label,
                              corrected_label="" if status == "confirmed" else label, current=current)

    verdict("scan-1.png", "meningioma", current=False)  # superseded by the next one
    verdict("scan-1.png", "glioma")
    verdict("scan-2.png", "meningioma")
    verdict("scan-3.png", "meningioma")
    a = queries.agreement(preds())
    assert (a["reviewed"], a["agreed"], a["rate"]) == (3, 2, 0.6667)
    assert a["matrix"]["glioma"] == {"glioma": 1, "meningioma": 1, "notumor": 0, "pituitary": 0}
    assert queries.agreement(preds(label="meningioma"))["reviewed"] == 1


def test_a_prediction_takes_its_scans_owner_however_it_is_saved(owner, colleague):
    from tests.analytics.conftest import add_prediction

    assert add_prediction(owner, "glioma", 0.9, 0).owner == owner  # save()
    scan = Scan.objects.create(owner=colleague, original_name="bulk.png", image="demo/none.png", sha256="b" * 64,
                               format="PNG", width=64, height=64, size_bytes=100)
    Prediction.objects.bulk_create([Prediction(scan=scan, label="notumor", confidence=0.8, prob_glioma=0.1,
                                               prob_meningioma=0.05, prob_notumor=0.8, prob_pituitary=0.05,
                                               model_version="v1", inference_ms=5)])  # as batches save them
    assert Prediction.objects.get(scan=scan).owner == colleague
    assert [u["scans"] for u in queries.usage(preds())["users"]] == [1, 1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="work_mem is PostgreSQL's")
def test_the_connection_gives_each_sort_the_configured_memory(db, settings):
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone()[0] == f"{settings.DATABASE_WORK_MEM_MB}MB"
