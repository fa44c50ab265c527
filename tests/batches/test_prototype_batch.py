"""POST /api/predict/batch answers with its results, so it classifies in the request: one forward
pass and one transaction for the new files, each file stored once however often it is sent."""

from django.core.files.base import ContentFile

from audit.models import AuditEvent
from scans.models import Prediction, Scan
from tests.api.conftest import token_client
from tests.helpers import png, stored_files


def test_each_new_file_is_stored_once_and_repeats_answer_with_the_same_scan(owner, settings):
    client = token_client(owner)
    assert client.post("/api/predict/batch", {"images": [ContentFile(png(96, 1), name="before.png")]}).status_code == 200
    files = [ContentFile(png(96, 1), name="before-again.png"), ContentFile(png(96, 2), name="new.png"),
             ContentFile(png(96, 2), name="new-again.png"), ContentFile(b"text", name="notes.txt")]
    response = client.post("/api/predict/batch", {"images": files})
    assert response.status_code == 200
    body = response.json()
    assert [b.get("error", {}).get("code") for b in body] == [None, None, None, "not_an_image"]
    assert body[1] == body[2]
    assert Scan.objects.count() == 2 and Prediction.objects.count() == 2
    assert AuditEvent.objects.filter(action="uploaded", object_type="scan").count() == 2
    on_disk = {str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files(settings)}
    assert on_disk == set(Scan.objects.values_list("image", flat=True))
