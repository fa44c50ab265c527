"""The rollup tables always hold exactly what grouping the rows would give, whatever path wrote the
rows: single uploads, bulk inserts, reviews confirmed and corrected, deletions by the service, by a
queryset, and by raw SQL; and rebuild_rollups gives the same tables again."""

import io
import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from analytics import cubes
from analytics.models import ROLLUPS
from scans import services
from scans.models import Prediction, Review, Scan
from tests.analytics.conftest import CLASSES, add_prediction
from tests.helpers import client_for, png, upload

pytestmark = pytest.mark.django_db(transaction=True)
START = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def conf_pct(confidence: float) -> int:
    return max(m for m in range(101) if confidence >= m / 100)


def expected(cube: cubes.Cube) -> Counter:
    """The cube computed here, in Python, from the rows: (bucket, dims...) -> [n, confidence in millionths]."""
    current = {r.prediction_id: r for r in Review.objects.filter(current=True)}
    out = Counter()
    sums = Counter()
    for p in Prediction.objects.all():
        review = current.get(p.pk)
        bucket = p.created.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if cube.grain in ("day", "month"):
            bucket = bucket.replace(hour=0)
        if cube.grain == "month":
            bucket = bucket.replace(day=1)
        values = {"owner_id": p.owner_id, "model_version": p.model_version, "label": p.label,
                  "out_of_scope": p.out_of_scope, "review": review.status if review else "unreviewed",
                  "reviewed_label": review.label if review else "", "conf_pct": conf_pct(p.confidence),
                  "conf_dec": conf_pct(p.confidence) // 10,
                  "ms_bin": math.floor(20 * math.log10(max(p.inference_ms, 0.1)))}
        key = (bucket, *(values[d] for d in cube.dims))
        out[key] += 1
        sums[key] += round(p.confidence * 1_000_000)
    return {k: (n, None if cube.timing else sums[k]) for k, n in out.items()}


def stored(cube: cubes.Cube) -> dict:
    rows = ROLLUPS[cube.name].objects.exclude(n=0).values_list("bucket", *cube.dims, *cube.measures)
    return {tuple(r[:-len(cube.measures)]): (r[-len(cube.measures)], None if cube.timing else r[-1]) for r in rows}


def assert_rollups_match_rows() -> None:
    for cube in cubes.CUBES:
        assert stored(cube) == expected(cube), cube.name


def bulk(owner, n: int, start: datetime) -> list[Scan]:
    scans = Scan.objects.bulk_create([
        Scan(owner=owner, created=start + timedelta(minutes=37 * i), original_name=f"bulk-{i}.png", image="x.png",
             sha256=f"b{i:063x}", format="PNG", width=64, height=64, size_bytes=1) for i in range(n)])
    Prediction.objects.bulk_create([
        Prediction(scan=s, label=CLASSES[i % 4], confidence=(0.29, 0.57, 1.0, 0.0, 0.8349)[i % 5],
                   out_of_scope=i % 7 == 0, model_version=f"v{i % 2}", inference_ms=(0.05, 3.3, 41.0, 980.0)[i % 4],
                   created=s.created, prob_glioma=0, prob_meningioma=0, prob_notumor=0, prob_pituitary=0)
        for i, s in enumerate(scans)])
    return scans


def test_rollups_equal_the_rows_after_every_kind_of_write(owner, colleague, reviewer):
    assert upload(client_for(owner), png(128, 5)).status_code == 200  # the real upload path and model
    known = [add_prediction(owner, c, conf, day, f"v{day % 2}", ms) for c, conf, day, ms in
             [("glioma", 0.95, 0, 12), ("glioma", 0.29, 1, 7.5), ("notumor", 0.605, 1, 30), ("pituitary", 0.6, 9, 51)]]
    batch = bulk(colleague, 40, START)
    assert_rollups_match_rows()

    services.review_scan(reviewer, known[0].scan, Review.CONFIRMED)
    services.review_scan(reviewer, known[1].scan, Review.CORRECTED, "meningioma")
    services.review_scan(reviewer, known[1].scan, Review.CONFIRMED)  # a second verdict supersedes the first
    services.review_scan(reviewer, batch[3], Review.CORRECTED, "glioma")
    services.review_scan(reviewer, batch[4], Review.CONFIRMED)
    services.review_scan(reviewer, batch[21], Review.NOT_ASSESSABLE, reason="wrong_modality")  # out of scope
    services.review_scan(reviewer, batch[22], Review.NOT_ASSESSABLE, reason="poor_quality")
    services.review_scan(reviewer, batch[28], Review.CORRECTED, "pituitary")  # out of scope, given a class
    assert_rollups_match_rows()

    services.delete_scan(known[0].scan)  # reviewed: the review goes first in the cascade
    services.delete_scan(batch[22], by=reviewer, reason="duplicate of another study")
    Scan.objects.filter(pk__in=[s.pk for s in batch[5:15]]).delete()
    Review.objects.filter(scan=batch[4]).delete()  # back to unreviewed
    with connection.cursor() as cursor:  # raw SQL, reviews and all
        cursor.execute("DELETE FROM scans_review WHERE scan_id = %s", [batch[3].pk])
        cursor.execute("DELETE FROM scans_prediction WHERE scan_id IN (%s, %s)", [batch[3].pk, batch[20].pk])
        cursor.execute("DELETE FROM scans_scan WHERE id IN (%s, %s)", [batch[3].pk, batch[20].pk])
    assert_rollups_match_rows()
    assert stored(cubes.BY_NAME["day_class"])  # something is left to compare

    before = {c.name: stored(c) for c in cubes.CUBES}
    call_command("rebuild_rollups", stdout=io.StringIO())
    assert {c.name: stored(c) for c in cubes.CUBES} == before
