"""Finding 4 of issue 12: identifying data survived de-identification. One planted-PHI test: files
carrying a value in every attribute of PS3.15's basic profile, free text in descriptions and
comments, EXIF, COM, XMP and PNG text chunks, and patient names in file and folder names, sent in
by every intake path (page, API v1, the prototype's API, batch page, ZIP, API batches, the
prototype's batch), with staged files caught on disk before a worker settles them; then every
table, every file under MEDIA_ROOT (with its image metadata), the logs, the PDFs, the pages and the
exports are searched for any of it."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pydicom
import pytest
from django.apps import apps
from django.core import serializers
from django.core.files.base import ContentFile
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerDown
from pypdf import PdfReader

from scans.batches import tasks
from scans.intake.deid import deidentify
from scans.models import BatchItem, BatchJob, Scan
from tests.api.conftest import token_client
from tests.batches.helpers import post_batch, zip_bytes
from tests.helpers import client_for, upload
from tests.privacy.phi import (
    FILE_MARK,
    MARK,
    REPLACED,
    SERIES_FREE_TEXT,
    file_text,
    found,
    planted_dicom,
    planted_jpeg,
    planted_png,
    profile_keywords,
)
from tests.studies.series import stow

pytestmark = pytest.mark.django_db(transaction=True)  # the whole database is dumped, every table


def test_deidentification_removes_every_attribute_of_the_basic_profile():
    ds = pydicom.dcmread(io.BytesIO(planted_dicom(1)))
    planted = [k for k in profile_keywords() if k in ds]
    assert len(planted) > 200
    deidentify(ds)
    assert [k for k in planted if k in ds and k not in REPLACED and k != "SeriesDescription"] == []
    assert ds.SeriesDescription == "T1 AX"  # rebuilt from sequence words alone: SERIES_FREE_TEXT had PHI
    assert found(str(ds)) == [] and found(str(ds.file_meta)) == []
    assert not any(e.tag.is_private or e.tag.group in range(0x5000, 0x6100) for e in ds)


def everything_stored(settings) -> dict[str, str]:
    """Every table's rows and every file under MEDIA_ROOT, as text to search."""
    dump = {f"table {m._meta.db_table}": serializers.serialize("json", m._base_manager.all())
            for m in apps.get_models() if m._meta.managed}
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        if path.is_file():
            dump[f"file {path.relative_to(settings.MEDIA_ROOT)}"] = str(path) + file_text(path.read_bytes())
    return dump


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return data.decode("latin-1") + "".join(p.extract_text() for p in reader.pages) + str(reader.metadata)


def streamed(response) -> str:
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def test_no_planted_value_survives_any_intake_path(owner, researcher, reviewer, staff, settings, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    settings.BATCH_RETRY_S = 1
    page, api = client_for(owner), token_client(owner)
    name = f"{FILE_MARK}_Quorvena"

    # Single files: the page, API v1, the prototype's API.
    for i, (data, ext) in enumerate([(planted_dicom(1), "dcm"), (planted_jpeg(2), "jpg"), (planted_png(3), "png")]):
        assert upload(page, data, name=f"{name}-{i}.{ext}", htmx=False).status_code == 302
    for i, (data, ext) in enumerate([(planted_dicom(4), "dcm"), (planted_jpeg(5), "jpg"), (planted_png(6), "png")]):
        response = api.post(reverse("api:scans"), {"image": ContentFile(data, name=f"{name}-v1-{i}.{ext}")})
        assert response.status_code == 201, response.content
    response = api.post(reverse("api:legacy-predict"), {"image": ContentFile(planted_dicom(7), name=f"{name}.dcm")})
    assert response.status_code in (200, 422), response.content

    # Batches: files and a ZIP with folders named after the patient, first staged with no worker to
    # take them (the broker down), so the staged copies are caught on disk.
    real_send = tasks._send
    def refused(ids):
        raise BrokerDown("connection refused")

    monkeypatch.setattr(tasks, "_send", refused)
    archive = zip_bytes({f"{FILE_MARK}_Quorvena/{FILE_MARK}_report.txt": f"{MARK} notes".encode(),
                         f"{FILE_MARK}_Quorvena/{FILE_MARK}_1.dcm": planted_dicom(8),
                         f"{FILE_MARK}_Quorvena/{FILE_MARK}_2.jpg": planted_jpeg(9),
                         f"{FILE_MARK}_Quorvena/{FILE_MARK}_3.png": planted_png(10, "RGBA")})
    post_batch(page, [ContentFile(planted_dicom(11), name=f"{name}.dcm"), ContentFile(planted_png(12), name=f"{name}.png"),
                      ContentFile(archive, name=f"{name}.zip")])
    response = api.post(reverse("api:batches"), {"files": [ContentFile(planted_jpeg(13), name=f"{name}.jpg"),
                                                           ContentFile(planted_dicom(14), name=f"{name}.dcm")]})
    assert response.status_code == 201, response.content
    staged = BatchItem.objects.exclude(staged="").count()
    assert staged == 7
    for where, text in everything_stored(settings).items():
        assert found(text) == [], where  # staged copies included
    monkeypatch.setattr(tasks, "_send", real_send)
    BatchItem.objects.update(retry_at=None)
    assert tasks.sweep() == 7
    assert not BatchJob.objects.filter(finished=None).exists()
    response = api.post(reverse("api:legacy-predict-batch"), {"images": [
        ContentFile(planted_dicom(15), name=f"{name}.dcm"), ContentFile(planted_png(16, "LA"), name=f"{name}.png")]})
    assert response.status_code == 200, response.content

    scans = list(Scan.objects.all())
    assert len(scans) >= 14
    client_for(reviewer).post(reverse("scans:review", args=[scans[0].pk]), {"status": "confirmed", "comment": "ok"})

    # What anyone can read: pages, API answers, PDFs, exports.
    answers = {}
    for scan in scans:
        answers[f"page {scan.pk}"] = page.get(reverse("scans:detail", args=[scan.pk])).content.decode()
        answers[f"api {scan.pk}"] = api.get(reverse("api:scan", args=[scan.pk])).content.decode()
        answers[f"pdf {scan.pk}"] = pdf_text(page.get(reverse("scans:report", args=[scan.pk])).content)
        if scan.patient_id:
            answers[f"patient pdf {scan.pk}"] = pdf_text(page.get(reverse("scans:patient-report",
                                                                          args=[scan.patient.public_id])).content)
    for batch in BatchJob.objects.all():
        answers[f"batch {batch.pk}"] = page.get(reverse("scans:batch", args=[batch.pk])).content.decode()
        answers[f"batch csv {batch.pk}"] = streamed(page.get(reverse("scans:batch-csv", args=[batch.pk])))
        answers[f"api batch {batch.pk}"] = api.get(reverse("api:batch", args=[batch.pk])).content.decode()
    for who, client in (("owner", api), ("researcher", token_client(researcher))):
        answers[f"{who} csv"] = streamed(client.get(reverse("api:export-csv")))
        answers[f"{who} json"] = streamed(client.get(reverse("api:export-json")))
    answers["history"] = page.get(reverse("scans:history")).content.decode()
    answers["api list"] = api.get(reverse("api:scans")).content.decode()
    answers["audit"] = client_for(staff).get(reverse("audit:trail")).content.decode()

    for where, text in {**answers, **everything_stored(settings), "logs": caplog.text}.items():
        assert found(text) == [], (where, [line for line in text.splitlines() if found(line)][:3])
    # File names: a clinician's own JPEG or PNG keeps its name for them; nothing else does.
    assert FILE_MARK not in answers["researcher csv"] + answers["researcher json"]
    kept = sorted(n for n in BatchItem.objects.values_list("name", flat=True) if FILE_MARK in n)
    assert kept == [f"{name}.jpg", f"{name}.png"]  # uploaded as themselves; no ZIP path, no DICOM file's name
    assert not any(FILE_MARK in n for n in BatchJob.objects.values_list("name", flat=True))
    assert not any(FILE_MARK in s.original_name for s in scans if s.format == "DICOM")
    dicom = next(s for s in scans if s.format == "DICOM")
    assert SERIES_FREE_TEXT not in "".join(answers.values()) and "Sequence: T1 AX" in answers[f"pdf {dicom.pk}"]


def test_no_planted_value_survives_the_pacs_intake(owner, settings, caplog):
    """The PACS path (STOW-RS; the DIMSE listener shares its receive step): the same planted files."""
    caplog.set_level(logging.DEBUG)
    datasets = [pydicom.dcmread(io.BytesIO(planted_dicom(40 + i))) for i in range(3)]  # one series
    response = stow(token_client(owner), datasets)
    assert response.status_code == 200, response.content[:300]
    for where, text in {**everything_stored(settings), "logs": caplog.text}.items():
        assert found(text) == [], (where, [line for line in text.splitlines() if found(line)][:3])
