"""seed_demo fills clearly marked demo history; bench_analytics reports on whatever is there."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max, Min

from scans.models import Prediction, Review, Scan
from tests.analytics.test_query_counts import EXPECTED
from tests.analytics.test_rollups import assert_rollups_match_rows

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_marked_scans_of_every_class_over_months(capsys):
    call_command("seed_demo", scans=400, users=4, days=120)
    assert Scan.objects.count() == Prediction.objects.count() == 400
    assert set(User.objects.values_list("username", flat=True)) == {
        "demo-clinician-01", "demo-clinician-02", "demo-clinician-03", "demo-clinician-04", "demo-researcher",
        "demo-reviewer"}
    assert not Scan.objects.exclude(original_name__startswith="DEMO-").exists()
    assert set(Prediction.objects.values_list("label", flat=True)) == {"glioma", "meningioma", "notumor", "pituitary"}
    span = Prediction.objects.aggregate(first=Min("created"), last=Max("created"), low=Min("confidence"),
                                        high=Max("confidence"))
    assert (span["last"] - span["first"]).days >= 90 and span["low"] < 0.7 and span["high"] > 0.95
    assert Prediction.objects.filter(out_of_scope=True).exists()
    assert set(Prediction.objects.values_list("model_version", flat=True)) == {"demo-cnn-1.0", "demo-cnn-1.1"}
    per_user = Scan.objects.values("owner").annotate(n=Count("id"))
    assert len(per_user) >= 3
    assert "Added 400 demo scans" in capsys.readouterr().out
    #  Every demo account signs in with the documented demo password (one hash shared by all of them).
    from devtools.management.commands.seed_demo import PASSWORD

    for user in User.objects.all():
        assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x"), user.username


@pytest.mark.django_db(transaction=True)
def test_seeded_rows_are_in_the_rollups_and_later_writes_keep_them_exact(owner):
    from tests.analytics.conftest import add_prediction

    add_prediction(owner, "glioma", 0.9, 0)
    call_command("seed_demo", scans=3000, users=3)
    assert Review.objects.exists()  # a few demo reviews, for the agreement chart
    assert_rollups_match_rows()
    add_prediction(owner, "notumor", 0.5, 1)  # the triggers are on again
    Scan.objects.filter(original_name__startswith="DEMO-")[:1].get().delete()
    assert_rollups_match_rows()


def test_the_label_is_always_the_most_probable_class(db):
    call_command("seed_demo", scans=200, users=2)
    for p in Prediction.objects.all():
        assert max(p.probabilities.values()) == pytest.approx(p.confidence)
        assert sum(p.probabilities.values()) == pytest.approx(1)


def test_seed_demo_clear_replaces_only_demo_scans(owner):
    from tests.analytics.conftest import add_prediction

    add_prediction(owner, "glioma", 0.9, 0)
    call_command("seed_demo", scans=50, users=2)
    call_command("seed_demo", scans=30, users=2, clear=True)
    assert Scan.objects.count() == 31 and Scan.objects.filter(owner=owner).count() == 1


def test_bench_analytics_prints_every_figure(capsys):
    call_command("seed_demo", scans=120, users=3)
    call_command("bench_analytics", runs=2)
    out = capsys.readouterr().out
    for line in ("dashboard, researcher ", "statistics API, administrator (filtered)", "dashboard, busiest clinician",
                 "REST statistics, reviewer", "researcher in India", "CSV export, every row: 120 rows", "peak RSS growth", "Python peak (tracemalloc)",
                 "goal p50, slowest page and persona", "goal p95, slowest page and persona", "goal CSV export time, 1,000,000 rows",
                 "goal CSV export memory growth", "load average"):
        assert line in out
    if connection.vendor == "postgresql":
        dashboard = next(line for line in out.splitlines() if line.startswith("dashboard, researcher "))
        assert dashboard.endswith(f"{EXPECTED['researcher', 'analytics:dashboard']} queries")
