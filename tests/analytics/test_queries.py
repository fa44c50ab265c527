"""Every figure against values worked out by hand from the six known predictions. Counts and means
are exact; medians and percentiles come from bins (1 % of confidence; a factor 10**0.05 of time),
so they are checked against the exact value within the bins' stated resolution."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from analytics import queries
from analytics.scope import Scope
from scans.models import Prediction, Review, Scan
from tests.analytics.conftest import MONDAY

pytestmark = pytest.mark.django_db
LOW = 60
BIN = queries.CONFIDENCE_RESOLUTION + 1e-9


def preds(**filters):
    return Scope(tz=timezone.get_current_timezone(), **filters)


def test_totals_match_hand_computed_values(known):
    t = queries.summary(preds(), LOW, exact_span=True)
    #  The out-of-scope prediction is counted on its own and in no confidence figure (it has no class).
    assert (t["total"], t["in_scope"], t["out_of_scope"], t["low_confidence"]) == (6, 5, 1, 1)
    assert t["mean_confidence"] == pytest.approx(3.70 / 5, abs=1e-4)
    assert t["median_confidence"] == pytest.approx(0.70, abs=BIN)
    assert t["out_of_scope_share"] == pytest.approx(0.1667, abs=1e-4)
    assert t["low_confidence_share"] == pytest.approx(0.2, abs=1e-4)
    assert t["first"] == MONDAY and t["last"] == MONDAY + timedelta(days=9)  # exact, not the hour


def test_totals_of_nothing_are_zero_and_none(db):
    t = queries.summary(preds(), LOW, exact_span=True)
    assert t["total"] == 0 and t["mean_confidence"] is None and t["median_confidence"] is None
    assert t["out_of_scope_share"] is None and t["first"] is None


def test_class_stats_give_count_share_mean_median_and_low_per_class(known):
    rows = {r["label"]: r for r in queries.summary(preds(), LOW)["by_class"]}
    assert list(rows) == ["glioma", "meningioma", "notumor", "pituitary"]
    g = rows["glioma"]
    assert (g["count"], g["share"], g["low_confidence"]) == (3, 0.6, 1)  # shares of the 5 in scope
    assert g["mean_confidence"] == pytest.approx(0.7167, abs=1e-4)
    assert g["median_confidence"] == pytest.approx(0.65, abs=BIN)
    #  The out-of-scope "notumor" is no notumor result: not counted in its class.
    assert rows["notumor"]["count"] == 0 and rows["notumor"]["low_confidence_share"] is None
    assert rows["pituitary"]["median_confidence"] == pytest.approx(0.85, abs=BIN)


def test_class_stats_list_a_class_without_predictions_as_zero(known):
    rows = {r["label"]: r for r in queries.summary(preds(label="glioma"), LOW)["by_class"]}
    assert rows["pituitary"] == {**rows["pituitary"], "count": 0, "share": 0.0, "mean_confidence": None}


def test_the_histogram_puts_each_confidence_in_its_tenth(known):
    hist = queries.summary(preds(), LOW)["histogram"]
    assert hist["glioma"] == [0, 0, 0, 0, 0, 1, 1, 0, 0, 1]
    assert hist["meningioma"][7] == 1 and hist["notumor"] == [0] * 10 and hist["pituitary"][8] == 1


def test_a_confidence_of_one_lands_in_the_last_bin(owner):
    from tests.analytics.conftest import add_prediction

    add_prediction(owner, "glioma", 1.0, 0)
    assert queries.summary(preds(), LOW)["histogram"]["glioma"][9] == 1


def test_the_weekly_timeline_stacks_classes_from_monday(known):
    weeks = queries.timeline(preds(), "week")
    assert [w["start"] for w in weeks] == [date(2026, 3, 2), date(2026, 3, 9)]
    assert weeks[0]["counts"] == {"glioma": 2, "meningioma": 1, "notumor": 0, "pituitary": 0}
    assert (weeks[1]["total"], weeks[1]["out_of_scope"], weeks[1]["out_of_scope_share"]) == (3, 1, 0.3333)


def test_the_daily_timeline_fills_quiet_days_with_zeros(known):
    days = queries.timeline(preds(), "day")
    assert len(days) == 10 and [d["total"] for d in days] == [1, 2, 0, 0, 0, 0, 0, 0, 2, 1]


def test_the_summary_is_one_query_and_the_exact_span_two_short_reads_more(known, django_assert_num_queries):
    with django_assert_num_queries(1):
        seen = queries.summary(preds(), LOW)
    assert (seen["total"], seen["out_of_scope"], seen["mean_confidence"]) == (6, 1, round(3.70 / 5, 4))
    assert [c["count"] for c in seen["by_class"]] == [3, 1, 0, 1]
    with django_assert_num_queries(3):
        queries.summary(preds(), LOW, exact_span=True)


def test_inference_percentiles_per_model_version_within_the_bins_resolution(known):
    rows = {r["model_version"]: r for r in queries.inference_by_version(preds())}
    assert rows["v1"]["count"] == 3
    #  percentile_cont over the exact times: v1 (10, 20, 30) -> 20 and 29; v2 (40, 50, 60) -> 50 and 59.
    for version, p50, p95 in (("v1", 20.0, 29.0), ("v2", 50.0, 59.0)):
        assert rows[version]["p50_ms"] == pytest.approx(p50, rel=0.06)
        assert rows[version]["p95_ms"] == pytest.approx(p95, rel=0.06)
    assert f"{rows['v1']['first']:%Y-%m}" == f"{rows['v2']['last']:%Y-%m}" == "2026-03"


def test_a_minimum_confidence_is_exact_at_the_bin_edge(known, owner):
    from tests.analytics.conftest import add_prediction

    add_prediction(owner, "glioma", 0.29, 0)  # 0.29 * 100 is 28.999...: still "at least 29 %"
    #  A confidence filter leaves out the out-of-scope prediction (0.40): it has no confidence to filter.
    assert queries.summary(preds(min_pct=29), LOW)["total"] == 6
    assert queries.summary(preds(min_pct=30), LOW)["total"] == 5
    assert queries.summary(preds(min_pct=95), LOW)["total"] == 1


def test_a_decimal_minimum_confidence_is_exact_from_the_rows(known, django_assert_num_queries):
    """87 or 64.5 %: any value, not only whole or multiples of five (a decimal is read from the rows)."""
    assert queries.summary(preds(min_pct=85), LOW)["total"] == 2
    assert queries.summary(preds(min_pct=85.5), LOW)["total"] == 1
    assert queries.summary(preds(min_pct=64.5), LOW)["total"] == 4
    assert queries.summary(preds(min_pct=65.01), LOW)["total"] == 3


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
