"""The batch page: good, bad and mixed files; progress; results with filters; the CSV."""

import csv
import io

from django.core.files.base import ContentFile
from django.urls import reverse

from audit.models import AuditEvent
from scans.models import BatchItem, BatchJob, Prediction, Scan
from tests.batches.helpers import bad_files, good_files, post_batch
from tests.dicom_files import mr_file
from tests.helpers import client_for, stored_files


def test_a_batch_of_good_files_gives_a_scan_and_prediction_each(owner, settings):
    response = post_batch(client_for(owner), good_files(5))
    batch = BatchJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("scans:batch", args=[batch.pk])
    assert batch.finished is not None
    assert list(batch.items.values_list("status", flat=True)) == ["done"] * 5
    assert Prediction.objects.filter(scan__owner=owner).count() == 5
    #  Nothing staged is left: every stored file is a scan's.
    on_disk = {str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files(settings)}
    assert on_disk == set(Scan.objects.values_list("image", flat=True))


def test_bad_files_fail_with_their_reason_and_store_nothing(owner):
    post_batch(client_for(owner), bad_files())
    items = BatchJob.objects.get().items.all()
    assert {i.name: i.error_code for i in items} == {
        "notes.txt": "not_an_image", "cut.png": "corrupt_file", "tiny.png": "image_too_small",
        "empty.jpg": "empty_file"}
    assert all(i.status == "failed" and i.error_message for i in items)
    assert not Scan.objects.exists()


def test_a_mixed_batch_classifies_the_good_and_reports_the_bad(owner):
    client = client_for(owner)
    post_batch(client, [*good_files(3), *bad_files(), *good_files(1)])  # the last repeats the first
    batch = BatchJob.objects.get()
    counts = {s: batch.items.filter(status=s).count() for s in ("done", "failed", "pending")}
    assert counts == {"done": 4, "failed": 4, "pending": 0}
    assert Scan.objects.count() == 3
    repeat = batch.items.get(position=7)
    assert repeat.duplicate and repeat.scan == batch.items.get(position=0).scan
    page = client.get(reverse("scans:batch", args=[batch.pk])).content.decode()
    assert "3 scans." in page and page.count('data-testid="problem-row"') == 4
    assert "The image is truncated or damaged and cannot be read." in page


def test_the_progress_fragment_counts_and_stops_polling_when_finished(owner):
    client = client_for(owner)
    post_batch(client, [*good_files(2), *bad_files()[:1]])
    batch = BatchJob.objects.get()
    response = client.get(reverse("scans:batch-progress", args=[batch.pk]), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "2 done" in body and "1 failed" in body and "0 remaining" in body and "finished" in body
    assert "hx-trigger" not in body and response["HX-Refresh"] == "true"


def test_an_unfinished_batch_polls_its_progress(owner):
    client = client_for(owner)
    post_batch(client, good_files(2))
    batch = BatchJob.objects.get()
    BatchItem.objects.filter(position=1).update(status="pending", scan=None, settled=None)
    BatchJob.objects.update(finished=None)
    body = client.get(reverse("scans:batch", args=[batch.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in body and "1 done" in body and "1 remaining" in body
    assert "Download CSV" not in body


def test_the_results_take_the_history_filters(owner):
    client = client_for(owner)
    post_batch(client, good_files(4))
    batch = BatchJob.objects.get()
    label = Prediction.objects.first().label
    expected = Prediction.objects.filter(label=label).count()
    response = client.get(reverse("scans:batch", args=[batch.pk]), {"label": label}, headers={"HX-Request": "true"})
    assert response.content.decode().count('data-testid="scan-row"') == expected
    assert "<html" not in response.content.decode()


def test_the_csv_has_a_row_per_file_with_its_result_or_reason(owner):
    client = client_for(owner)
    post_batch(client, [*good_files(2), *bad_files()[:1]])
    batch = BatchJob.objects.get()
    response = client.get(reverse("scans:batch-csv", args=[batch.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["file"] for r in rows] == ["slice-0.jpg", "slice-1.png", "notes.txt"]
    assert rows[0]["label"] in ("glioma", "meningioma", "notumor", "pituitary") and float(rows[0]["confidence"])
    assert rows[2]["status"] == "failed" and rows[2]["error_code"] == "not_an_image" and rows[2]["label"] == ""
    assert AuditEvent.objects.filter(action="exported", object_type="batchjob").count() == 1
    assert AuditEvent.objects.filter(action="uploaded", object_type="scan").count() == 2


def test_others_cannot_see_a_batch_and_reviewers_can(owner, colleague, reviewer, researcher):
    post_batch(client_for(owner), good_files(1))
    pk = BatchJob.objects.get().pk
    for name in ("scans:batch", "scans:batch-progress", "scans:batch-csv"):
        assert client_for(colleague).get(reverse(name, args=[pk])).status_code == 404
        assert client_for(researcher).get(reverse(name, args=[pk])).status_code == 404
        assert client_for(reviewer).get(reverse(name, args=[pk])).status_code == 200


def test_only_uploaders_may_start_a_batch(researcher):
    assert post_batch(client_for(researcher), good_files(1)).status_code == 403


def test_too_many_files_are_refused_whole(owner, settings):
    settings.BATCH_MAX_FILES = 3
    response = post_batch(client_for(owner), good_files(4))
    assert response.status_code == 400 and b"At most 3 images" in response.content
    assert not BatchJob.objects.exists() and not stored_files(settings)


def test_the_page_offers_multiple_files_and_a_drop_zone(owner):
    body = client_for(owner).get(reverse("scans:batch-new")).content.decode()
    assert 'name="files"' in body and " multiple" in body and "data-dropzone" in body and ".zip" in body


def test_a_dicom_files_name_is_not_kept(owner):
    post_batch(client_for(owner), [ContentFile(mr_file(), name="DOE^JOHN.dcm")])
    item = BatchJob.objects.get().items.get()
    assert item.name == "MR 1 of 1" and item.status == "done"
    assert "DOE" not in item.batch.name
    assert "DOE" not in item.scan.original_name
