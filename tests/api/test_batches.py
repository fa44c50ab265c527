"""/api/v1/batches: create from files and ZIPs, list, retrieve with items, CSV."""

from django.core.files.base import ContentFile
from django.urls import reverse

from scans.models import BatchJob
from tests.api.conftest import assert_error, token_client
from tests.batches.helpers import bad_files, good_files, zip_bytes
from tests.helpers import png


def create(client, files):
    return client.post(reverse("api:batches"), {"files": files})


def test_it_creates_a_batch_and_answers_with_its_location(owner):
    client = token_client(owner)
    response = create(client, [*good_files(2), bad_files()[0],
                               ContentFile(zip_bytes({"z/a.png": png(96, 9), "z/b.txt": b"x"}), name="z.zip")])
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"].endswith(reverse("api:batch", args=[body["id"]]))
    assert body["progress"] == {**body["progress"], "total": 5, "done": 3, "failed": 1, "skipped": 1, "pending": 0,
                                "percent": 100, "finished": True}
    assert body["source"] == "api" and body["owner"] == "owner"


def test_it_retrieves_every_item_with_its_result_or_reason(owner):
    client = token_client(owner)
    pk = create(client, [*good_files(1), bad_files()[2]]).json()["id"]
    items = client.get(reverse("api:batch", args=[pk])).json()["items"]
    assert items[0]["status"] == "done" and items[0]["scan"] and items[0]["label"] and items[0]["confidence"]
    assert items[1] == {**items[1], "status": "failed", "error_code": "image_too_small", "scan": None,
                        "label": None}


def test_it_lists_only_your_batches(owner, colleague):
    create(token_client(owner), good_files(1))
    create(token_client(colleague), good_files(1, start=5))
    body = token_client(owner).get(reverse("api:batches")).json()
    assert [b["owner"] for b in body["results"]] == ["owner"]


def test_the_csv_has_a_row_per_item(owner):
    client = token_client(owner)
    pk = create(client, [*good_files(2), bad_files()[0]]).json()["id"]
    response = client.get(reverse("api:batch-csv", args=[pk]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response["Content-Type"].startswith("text/csv") and len(lines) == 4


def test_no_files_too_many_and_an_unsafe_zip_are_400s(owner, settings):
    client = token_client(owner)
    assert_error(create(client, []), 400, "no_files", "files")
    settings.BATCH_MAX_FILES = 1
    assert_error(create(client, good_files(2)), 400, "too_many_files", "files")
    evil = ContentFile(zip_bytes({"../../x.png": png(96, 1)}), name="e.zip")
    assert_error(create(client, [evil]), 400, "archive_unsafe_path", "files")
    assert not BatchJob.objects.exists()


def test_a_bomb_is_a_413(owner, settings):
    settings.BATCH_ZIP_MAX_UNPACKED_MB = 1
    bomb = ContentFile(zip_bytes({"zeros.png": b"\0" * 3_000_000}), name="bomb.zip")
    assert_error(create(token_client(owner), [bomb]), 413, "archive_too_large")


def test_others_get_404_and_researchers_may_not_upload(owner, colleague, researcher):
    pk = create(token_client(owner), good_files(1)).json()["id"]
    assert_error(token_client(colleague).get(reverse("api:batch", args=[pk])), 404, "not_found")
    assert_error(token_client(colleague).get(reverse("api:batch-csv", args=[pk])), 404, "not_found")
    assert_error(create(token_client(researcher), good_files(1)), 403)
