"""Out of scope is a result of its own: an image the model cannot assess (a colour photograph, a scanned
document, a brain CT slice) never shows or returns a class, a confidence presented as calibrated, or a heat map, on any
way in or out: the page, the history, the PDF, API v1, the prototype's API, the exports and the
statistics. Real model, real database; the inputs are ones any scope guard must refuse."""

import csv
import io
import json
import re

import pytest
import skimage.data
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image, ImageDraw
from pypdf import PdfReader

from ml.infer import CLASSES, DISPLAY_NAMES
from scans.models import Scan
from tests.api.conftest import assert_error, token_client
from tests.helpers import DATASETS, client_for, encode, png, upload

pytestmark = pytest.mark.django_db
NAMES = [DISPLAY_NAMES[c] for c in CLASSES]


def photograph() -> bytes:
    return encode(Image.fromarray(skimage.data.astronaut()), "PNG")


def document() -> bytes:
    page = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(page)
    for i in range(30):
        draw.text((40, 20 + i * 25), f"Discharge letter, line {i}: the patient was seen in clinic.", fill=0)
    return encode(page, "PNG")


def brain_ct() -> bytes:
    """A brain CT slice that the larger collection files as an MRI without a tumour (listed in
    ml/splits/not_mri.csv); it is in the validation split, so the guard was not fitted on it."""
    path = DATASETS / "brain-tumor-mri/Testing/notumor/Te-no_0040.jpg"
    if not path.is_file():
        pytest.skip(f"the shared data sets are not at {DATASETS}")
    return path.read_bytes()


def no_class_in(text: str) -> None:
    found = [n for n in NAMES if n in text]
    assert found == [], found


@pytest.fixture(params=["photograph", "document", "brain-ct"])
def out_of_scope(request, owner):
    data = {"photograph": photograph, "document": document, "brain-ct": brain_ct}[request.param]()
    name = f"{request.param}.{'jpg' if request.param == 'brain-ct' else 'png'}"
    response = upload(client_for(owner), data, name=name, htmx=True)
    scan = Scan.objects.get()
    assert scan.prediction.out_of_scope, "the test needs an image the scope guard refuses"
    return scan, response


def test_the_upload_result_and_the_scan_page_say_not_assessed_with_the_reason(owner, out_of_scope):
    scan, response = out_of_scope
    page = client_for(owner).get(reverse("scans:detail", args=[scan.pk])).text
    for html in (response.text, page):
        assert "Not assessed: out of scope" in html and scan.prediction.out_of_scope_reason in html
        no_class_in(html)
        assert "calibrated" not in html and 'data-testid="class-bar"' not in html
    assert reverse("scans:heat-layer", args=[scan.pk]) not in page
    assert client_for(owner).get(reverse("scans:heat-layer", args=[scan.pk])).status_code == 404


def test_the_history_and_the_patient_less_rows_show_no_class(owner, out_of_scope):
    scan, _ = out_of_scope
    html = client_for(owner).get(reverse("scans:history")).text
    [row] = re.findall(r'<tr data-testid="scan-row">.*?</tr>', html, re.DOTALL)
    assert "Not assessed: out of scope" in row and scan.prediction.out_of_scope_reason in row and "%" not in row
    no_class_in(row)
    #  A class filter finds no out-of-scope scan; neither does a confidence filter.
    for params in ({"label": scan.prediction.label}, {"min_confidence": "1"}):
        assert 'data-testid="scan-row"' not in client_for(owner).get(reverse("scans:history"), params).text


def test_the_pdf_says_not_assessed_and_has_no_heat_map(owner, out_of_scope):
    scan, _ = out_of_scope
    response = client_for(owner).get(reverse("scans:report", args=[scan.pk]))
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(p.extract_text() for p in reader.pages).replace("\n", " ")
    assert "Not assessed: out of scope" in text and scan.prediction.out_of_scope_reason in text
    no_class_in(text)
    assert "calibrated" not in text and "Heat map" not in text and len(reader.pages[0].images) == 1


def test_api_v1_gives_null_class_fields_with_the_reason(owner, out_of_scope):
    scan, _ = out_of_scope
    client = token_client(owner)
    for body in (client.get(reverse("api:scan", args=[scan.pk])).json(), client.get(reverse("api:scans")).json()["results"][0]):
        p = body["prediction"]
        assert (p["label"], p["label_display"], p["confidence"], p["probabilities"]) == (None, None, None, None)
        assert p["out_of_scope"] is True and p["out_of_scope_reason"] == scan.prediction.out_of_scope_reason
        assert body["effective_label"] is None and body["status"] == "unreviewed"
        assert body["headline"].startswith("Not assessed: out of scope")
        no_class_in(json.dumps(body))
    p = client.get(reverse("api:prediction", args=[scan.prediction.pk])).json()
    assert p["label"] is None and p["confidence"] is None
    assert_error(client.get(reverse("api:scan-heatmap", args=[scan.pk])), 404, "out_of_scope")


def test_a_fresh_api_upload_says_so_too(owner):
    response = token_client(owner).post(reverse("api:scans"), {"image": ContentFile(document(), name="d.png")})
    assert response.status_code == 201
    p = response.json()["prediction"]
    assert p["out_of_scope"] and p["label"] is None and p["probabilities"] is None


def test_the_prototype_predict_answers_422_out_of_scope(owner):
    response = token_client(owner).post(reverse("api:legacy-predict"), {"image": ContentFile(photograph(), name="p.png")})
    error = assert_error(response, 422, "out_of_scope", "image")
    reason = Scan.objects.get().prediction.out_of_scope_reason
    assert "out of scope" in error["message"] and reason and reason in error["message"]  # the guard's own reason
    no_class_in(response.text)
    #  The same file again (a duplicate) is answered the same way, never with the stored class.
    again = token_client(owner).post(reverse("api:legacy-predict"), {"image": ContentFile(photograph(), name="p.png")})
    assert_error(again, 422, "out_of_scope")


def test_the_prototype_batch_reports_the_item_as_its_error_and_answers_the_others(owner):
    files = [ContentFile(png(seed=1), name="slice.png"), ContentFile(document(), name="letter.png"),
             ContentFile(photograph(), name="photo.png")]
    response = token_client(owner).post(reverse("api:legacy-predict-batch"), {"images": files})
    assert response.status_code == 200
    slice_, letter, photo = response.json()
    for item, name in ((letter, "letter.png"), (photo, "photo.png")):
        assert item["filename"] == name and item["error"]["code"] == "out_of_scope" and "prediction" not in item
    if Scan.objects.get(original_name="slice.png").prediction.out_of_scope:
        assert slice_["error"]["code"] == "out_of_scope"
    else:
        assert slice_["prediction"] in NAMES and 0 <= slice_["confidence"] <= 1


def test_the_prototype_history_has_null_class_fields(owner, out_of_scope):
    [item] = token_client(owner).get(reverse("api:legacy-history")).json()["results"]
    assert (item["prediction"], item["confidence"], item["all_predictions"]) == (None, None, None)
    assert item["out_of_scope"] is True and item["out_of_scope_reason"]


def test_exports_and_statistics_give_no_class(owner, staff, out_of_scope):
    client = token_client(owner)
    [row] = list(csv.DictReader(io.StringIO(b"".join(client.get(reverse("api:export-csv")).streaming_content).decode())))
    assert row["label"] == "" and row["confidence"] == "" and row["out_of_scope"] == "true"
    assert all(row[f"prob_{c}"] == "" for c in CLASSES) and row["effective_label"] == ""
    [record] = json.loads(b"".join(client.get(reverse("api:export-json")).streaming_content))
    assert record["label"] is None and record["prob_glioma"] is None
    page_csv = b"".join(client_for(staff).get(reverse("analytics:export-csv")).streaming_content).decode()
    [page_row] = list(csv.DictReader(io.StringIO(page_csv)))
    assert page_row["label"] == "" and page_row["review_status"] == "unreviewed"
    stats = client.get(reverse("api:statistics")).json()
    assert stats["total"] == 1 and stats["out_of_scope"] == 1 and set(stats["by_label"].values()) == {0}
    assert stats["mean_confidence"] is None and sum(stats["confidence_histogram"]) == 0


def test_a_batch_gives_no_class_for_it_in_its_page_csv_or_api(owner):
    files = [ContentFile(photograph(), name="photo.png"), ContentFile(document(), name="letter.png")]
    response = client_for(owner).post(reverse("scans:batch-new"), {"files": files})
    batch = owner.batches.get()
    assert response.status_code == 302 and batch.items.filter(status="done").count() == 2
    page = client_for(owner).get(reverse("scans:batch", args=[batch.pk])).text
    rows = re.findall(r'<tr data-testid="scan-row">.*?</tr>', page, re.DOTALL)
    assert len(rows) == 2 and all("Not assessed: out of scope" in r for r in rows)
    no_class_in("".join(rows))
    table = list(csv.DictReader(io.StringIO(b"".join(
        client_for(owner).get(reverse("scans:batch-csv", args=[batch.pk])).streaming_content).decode())))
    assert [(r["label"], r["confidence"], r["out_of_scope"]) for r in table] == [("", "", "True")] * 2
    assert all(r["out_of_scope_reason"] for r in table)
    items = token_client(owner).get(reverse("api:batch", args=[batch.pk])).json()["items"]
    assert [(i["label"], i["confidence"], i["out_of_scope"]) for i in items] == [(None, None, True)] * 2
