"""manage.py rescore: another model version's answers stored beside each scan's result, never over it.

The scans are uploaded through the app (the served model, real files); the shadows come from the real
archived LiteRT model. Nothing is mocked."""

from io import StringIO

import pytest
import skimage.data
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from PIL import Image

from audit.models import AuditEvent
from ml.infer import get_classifier
from ml.versions import served_version
from scans.intake.ingest import read_image
from scans.models import Prediction, Review, Scan, ShadowPrediction
from scans.reviews import review_scan
from scans.services import delete_scan
from tests.helpers import client_for, dataset_files, encode, make_scan, upload

pytestmark = pytest.mark.django_db
OLD = "neurolens-cnn-1.1.0"


def rescore(*args) -> str:
    out = StringIO()
    call_command("rescore", *args, stdout=out)
    return out.getvalue()


def grey_photograph() -> bytes:
    """A grayscale portrait: 1.1.0's hand-set rules let it through, the learned guard refuses it."""
    return encode(Image.fromarray(skimage.data.astronaut()).convert("L"), "PNG")


@pytest.fixture
def stored(owner, reviewer):
    """Eight MRI slices (two per class) and a grey photograph, uploaded through the app; two reviewed."""
    client = client_for(owner)
    for cls, path in dataset_files(per_class=2):
        assert upload(client, path.read_bytes(), name=f"{cls}-{path.name}").status_code == 200
    assert upload(client, grey_photograph(), name="portrait.png").status_code == 200
    scans = list(Scan.objects.order_by("pk"))
    review_scan(reviewer, scans[0], "confirmed")
    review_scan(reviewer, scans[2], "corrected", corrected_label="pituitary")
    return scans


def snapshot() -> dict:
    """Everything that shows or counts a scan's result: its prediction, its reviews, the rollups."""
    with connection.cursor() as cur:
        cur.execute("SELECT bucket, model_version, label, out_of_scope, review, reviewed_label, n, conf_micro "
                    "FROM analytics_day_class ORDER BY 1, 2, 3, 4, 5, 6")
        rollup = cur.fetchall()
    return {"predictions": list(Prediction.objects.order_by("pk").values()),
            "reviews": list(Review.objects.order_by("pk").values()), "rollup": rollup}


def test_it_adds_one_shadow_per_scan_and_leaves_every_result_as_it_was(stored):
    before = snapshot()
    assert {p["model_version"] for p in before["predictions"]} == {served_version()}
    out = rescore("--version", OLD)
    assert f"{OLD}: 9 shadow predictions added over 9 scans" in out
    shadows = ShadowPrediction.objects.filter(model_version=OLD)
    assert shadows.count() == 9 and set(shadows.values_list("scan_id", flat=True)) == {s.pk for s in stored}
    assert snapshot() == before
    #  What the shadow says is what the archived model says about the stored file.
    portrait = Scan.objects.get(original_name="portrait.png")
    assert portrait.prediction.out_of_scope
    assert not portrait.shadows.get().out_of_scope
    #  As the upload path reads the file (intake.ingest.read_image), then 1.1.0's own classifier.
    checked = read_image(stored[1].image.read(), max_bytes=settings.MAX_UPLOAD_BYTES,
                         min_side=settings.MIN_IMAGE_SIDE, max_side=settings.MAX_IMAGE_SIDE)
    expected = get_classifier(OLD).classify([checked.image])[0]
    got = stored[1].shadows.get()
    assert (got.label, got.confidence, got.out_of_scope) == (expected.label, expected.confidence, expected.out_of_scope)
    assert got.owner_id == stored[1].owner_id and got.kind == ShadowPrediction.RESCORE
    #  The run read stored patient images: the trail records it, once, with what it added.
    entry = AuditEvent.objects.get(object_type="rescore")
    assert (entry.action, entry.object_id, entry.username) == ("changed", OLD, "")
    assert entry.detail == f"shadow predictions by {OLD}: 9 added over 9 scans, 0 unreadable"


def test_running_it_again_adds_nothing(stored):
    rescore("--version", OLD, "--limit", "4")
    assert ShadowPrediction.objects.count() == 4
    rescore("--version", OLD)
    before = list(ShadowPrediction.objects.order_by("pk").values())
    assert len(before) == 9
    assert "nothing to do" in rescore("--version", OLD)
    assert list(ShadowPrediction.objects.order_by("pk").values()) == before


def test_the_database_refuses_a_second_shadow_of_one_version(stored):
    rescore("--version", OLD, "--limit", "1")
    shadow = ShadowPrediction.objects.get()
    shadow.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        shadow.save()


def test_the_served_model_rescores_scans_another_version_scored(owner):
    older = [make_scan(owner, name=f"old-{i}.png", seed=i) for i in range(3)]  # version "test-rows"
    out = rescore()
    assert f"{served_version()}: 3 shadow predictions added over 3 scans" in out
    assert set(ShadowPrediction.objects.values_list("scan_id", "model_version")) == {
        (s.pk, served_version()) for s in older}
    assert set(Prediction.objects.values_list("model_version", flat=True)) == {"test-rows"}


def test_a_scan_first_scored_by_a_version_gets_no_shadow_of_it(stored):
    assert "nothing to do" in rescore()  # every scan's result is the served version's already
    assert not ShadowPrediction.objects.exists()


def test_deleting_a_scan_deletes_its_shadows(stored, owner):
    rescore("--version", OLD)
    scan = stored[5]
    delete_scan(scan, by=owner)
    assert not ShadowPrediction.objects.filter(scan_id=scan.pk).exists()
    assert ShadowPrediction.objects.count() == 8


def test_it_limits_by_upload_day(owner):
    from datetime import UTC, datetime

    make_scan(owner, name="march.png", seed=1, created=datetime(2026, 3, 2, 12, tzinfo=UTC))
    make_scan(owner, name="april.png", seed=2, created=datetime(2026, 4, 2, 12, tzinfo=UTC))
    rescore("--since", "2026-04-01", "--until", "2026-04-30")
    assert list(ShadowPrediction.objects.values_list("scan__original_name", flat=True)) == ["april.png"]


def test_a_missing_file_is_counted_and_skipped(owner):
    kept, lost = make_scan(owner, name="kept.png", seed=1), make_scan(owner, name="lost.png", seed=2)
    lost.image.storage.delete(lost.image.name)
    out = rescore()
    assert "1 shadow predictions added over 2 scans" in out and "1 unreadable" in out
    assert list(ShadowPrediction.objects.values_list("scan_id", flat=True)) == [kept.pk]


@pytest.mark.parametrize("args, message", [
    (["--version", "neurolens-cnn-9.9.9"], "not kept"), (["--since", "yesterday"], "not a date"),
    (["--since", "2026-05-02", "--until", "2026-05-01"], "after --until"), (["--limit", "0"], "at least 1"),
])
def test_it_refuses_bad_options_with_the_reason(owner, args, message):
    make_scan(owner)
    with pytest.raises(CommandError, match=message):
        rescore(*args)
    assert not ShadowPrediction.objects.exists()


def what_users_are_shown(owner, reviewer) -> dict:
    """The export, the API's view of every scan, the history page: each as its reader gets it."""
    export = client_for(reviewer).get(reverse("analytics:export-csv"))
    api = [client_for(owner).get(reverse("api:scan", args=[s.pk])).json() for s in Scan.objects.order_by("pk")]
    history = client_for(owner).get(reverse("scans:history")).content.decode()
    history = history[history.index("<table"):history.index("</table>")]  # the rows, not the page's tokens
    return {"export": b"".join(export.streaming_content).decode(), "api": api, "history": history}


def test_exports_the_api_and_the_history_read_the_same_after_a_rescore(stored, owner, reviewer):
    before = what_users_are_shown(owner, reviewer)
    assert len(before["export"].splitlines()) == 10 and len(before["api"]) == 9 and "portrait.png" in before["history"]
    rescore("--version", OLD)
    assert what_users_are_shown(owner, reviewer) == before


def test_the_scans_page_still_shows_the_served_result(stored, owner):
    rescore("--version", OLD)
    portrait = Scan.objects.get(original_name="portrait.png")
    html = client_for(owner).get(reverse("scans:detail", args=[portrait.pk])).content.decode()
    assert "out of scope" in html.lower()


def test_bench_rescore_prints_its_figures_and_leaves_no_shadow(capsys):
    call_command("seed_demo", scans=70, users=2)
    call_command("bench_rescore", scans=64, version=OLD)
    out = capsys.readouterr().out
    assert f"64 scans re-scored by {OLD}" in out and "0 unreadable" in out
    for figure in ("scans/s", "after the first chunk", "MB peak", "over 2 chunks", "load average"):
        assert figure in out
    assert not ShadowPrediction.objects.exists()
